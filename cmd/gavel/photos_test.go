package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/internal/phototest"
)

// testPhoto is a w×h JPEG whose left half is red and right half blue, so a
// rotation shows in the served file.
func testPhoto(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{220, 30, 30, 255}
			if x >= w/2 {
				c = color.RGBA{30, 30, 220, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// photoJSON is a photo as the API shows it.
type photoJSON struct {
	ID   int64 `json:"id"`
	URLs struct {
		Thumb, Medium, Large string
	} `json:"urls"`
	Width  int `json:"width"`
	Height int `json:"height"`
}

// answer is an HTTP response read in full.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// problemDetail is the detail of a problem+json answer, or "".
func (a answer) problemDetail() string {
	var p struct{ Detail string }
	_ = json.Unmarshal(a.body, &p)
	return p.Detail
}

// do sends one request with the client's cookies.
func (c *client) do(method, url, ctype string, body []byte, header map[string]string) answer {
	c.t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the answer: %v", method, url, err)
	}
	return answer{res.StatusCode, res.Header, data}
}

// upload posts data as the multipart field "photo", named filename.
func (c *client) upload(url, filename string, data []byte) answer {
	c.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	part, _ := w.CreateFormFile("photo", filename)
	part.Write(data)
	w.Close()
	return c.do(http.MethodPost, url, w.FormDataContentType(), b.Bytes(), nil)
}

// TestPhotosOverHTTP runs the photo API on the parts users run: two API
// nodes on PostgreSQL and one NATS server (upload on one, read on the
// other, so the object store is what serves the file), and the embedded
// single node of `make run` (SQLite, in-process NATS).
func TestPhotosOverHTTP(t *testing.T) {
	t.Run("postgres, two API nodes", func(t *testing.T) {
		c := mustCluster(t)
		a, b := c.node(config.RoleAPI, "photos-a"), c.node(config.RoleAPI, "photos-b")
		photoFlow(t, a.URL(), b.URL())
	})
	t.Run("sqlite, embedded NATS", func(t *testing.T) {
		cfg := config.Default()
		cfg.Addr, cfg.DataDir, cfg.Demo, cfg.NodeName = "127.0.0.1:0", t.TempDir(), config.DemoOff, "photos-embedded"
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		n, err := startNode(ctx, cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = n.shutdown(context.Background()) })
		photoFlow(t, n.URL(), n.URL())
	})
}

// photoFlow uploads through node up and reads through node read.
func photoFlow(t *testing.T, up, read string) {
	stamp := time.Now().UnixNano()
	sue := mustClient(t, up, fmt.Sprintf("sue%d@example.com", stamp))
	bob := mustClient(t, read, fmt.Sprintf("bob%d@example.com", stamp))
	var lot struct{ ID int64 }
	sue.json(http.MethodPost, up+"/api/v1/auctions", map[string]any{"title": "Brass lamp", "currency": "EUR",
		"start_price": 1000, "ends_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, http.StatusCreated, &lot)
	photos := fmt.Sprintf("/api/v1/auctions/%d/photos", lot.ID)

	// A phone photo: landscape pixels, EXIF "turn 90° clockwise", a GPS
	// block, a description and a comment.
	raw := phototest.WithMetadata(testPhoto(t, 800, 600), 6)
	res := sue.upload(up+photos, "IMG_0001.jpg", raw)
	if res.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", res.status, res.body)
	}
	var first photoJSON
	if err := json.Unmarshal(res.body, &first); err != nil {
		t.Fatal(err)
	}
	if first.Width != 600 || first.Height != 800 {
		t.Errorf("the photo is %d × %d; turned upright it is 600 × 800", first.Width, first.Height)
	}

	// The other node lists it in the auction resource, cover first, and
	// serves its files from the object store.
	var got struct{ Photos []photoJSON }
	bob.json(http.MethodGet, fmt.Sprintf("%s/api/v1/auctions/%d", read, lot.ID), nil, http.StatusOK, &got)
	if len(got.Photos) != 1 || got.Photos[0].ID != first.ID || got.Photos[0].URLs != first.URLs {
		t.Fatalf("GET auction on the other node: photos %+v, want [%+v]", got.Photos, first)
	}
	for _, u := range []string{first.URLs.Thumb, first.URLs.Medium, first.URLs.Large} {
		checkMediaFile(t, bob, read+u)
	}

	// Refused uploads, each with a 4xx naming the problem.
	good := testPhoto(t, 400, 300)
	huge := append(append([]byte{}, good...), make([]byte, 15<<20)...)
	bad := []struct {
		name, file string
		data       []byte
		status     int
		want       string
	}{
		{"zero bytes", "empty.jpg", nil, 422, "empty"},
		{"a ZIP named .jpg", "photo.jpg", append([]byte("PK\x03\x04\x14\x00\x00\x00"), make([]byte, 300)...), 415, "ZIP archive"},
		{"truncated", "cut.jpg", good[:len(good)/2], 422, "truncated"},
		{"1 × 100,000 px", "strip.png", phototest.PNGHeaderOnly(1, 100_000), 422, "at most 20 times longer"},
		{"a PNG bomb", "bomb.png", phototest.PNGBomb(10_000), 422, "at most 40 megapixels"},
		{"HTML with a JPEG inside", "page.jpg", append([]byte("<html><script>alert(1)</script>"), good...), 415, "text"},
		{"over 15 MB", "big.jpg", huge, 413, "at most 15 MB"},
	}
	for _, tc := range bad {
		// bob is not the seller: the rules come first, before the body is
		// read. Past what the server drains (256 KiB) it then closes the
		// connection, and a client still sending sees a reset instead.
		if len(tc.data) < 200<<10 {
			if res := bob.upload(read+photos, tc.file, tc.data); res.status != http.StatusForbidden {
				t.Errorf("%s from another user: %d %s, want 403", tc.name, res.status, res.body)
			}
		}
		res := sue.upload(read+photos, tc.file, tc.data)
		if res.status != tc.status || !strings.Contains(res.problemDetail(), tc.want) ||
			res.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s %s, want %d naming %q", tc.name, res.status, res.header.Get("Content-Type"), res.body, tc.status, tc.want)
		}
	}
	if res := sue.do(http.MethodPost, read+photos, "image/jpeg", good, nil); res.status != http.StatusUnsupportedMediaType {
		t.Errorf("a bare JPEG body: %d %s, want 415", res.status, res.body)
	}
	// Past the server's body limit fasthttp answers 413 as soon as it has
	// read the headers, and closes the connection: a client still sending
	// may see the reset before the answer.
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	part, _ := w.CreateFormFile("photo", "huge.jpg")
	part.Write(make([]byte, 17<<20))
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, read+photos, &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	if res, err := sue.http.Do(req); err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("a 17 MiB body: %d, want 413", res.StatusCode)
		}
	} else if !strings.Contains(err.Error(), "connection reset") && !strings.Contains(err.Error(), "broken pipe") {
		t.Errorf("a 17 MiB body: %v, want 413 or a closed connection", err)
	}

	// A polyglot (a JPEG with a ZIP and a script appended) is the picture
	// it is; nothing of the rest is served.
	res = sue.upload(read+photos, "poly.jpg", append(append([]byte{}, good...), "PK\x03\x04<script>alert(1)</script>"...))
	if res.status != http.StatusCreated {
		t.Fatalf("polyglot: %d %s", res.status, res.body)
	}
	var poly photoJSON
	_ = json.Unmarshal(res.body, &poly)
	for _, u := range []string{poly.URLs.Thumb, poly.URLs.Medium, poly.URLs.Large} {
		if body := checkMediaFile(t, sue, up+u); bytes.Contains(body, []byte("PK\x03\x04")) || bytes.Contains(body, []byte("<script")) {
			t.Errorf("%s carries the appended payload", u)
		}
	}

	// The seller makes the second photo the cover, then a bid locks the
	// order: only adding is left.
	order := func(ids ...int64) answer {
		b, _ := json.Marshal(map[string]any{"order": ids})
		return sue.do(http.MethodPut, up+photos+"/order", "application/json", b, nil)
	}
	if res := order(poly.ID, first.ID); res.status != http.StatusOK {
		t.Fatalf("reorder: %d %s", res.status, res.body)
	}
	bob.json(http.MethodGet, fmt.Sprintf("%s/api/v1/auctions/%d", read, lot.ID), nil, http.StatusOK, &got)
	if len(got.Photos) != 2 || got.Photos[0].ID != poly.ID {
		t.Fatalf("after the reorder the photos are %+v, want %d first", got.Photos, poly.ID)
	}
	bob.json(http.MethodPost, fmt.Sprintf("%s/api/v1/auctions/%d/bids", read, lot.ID), map[string]any{"amount": 1000}, http.StatusCreated, nil)
	if res := order(first.ID, poly.ID); res.status != http.StatusConflict {
		t.Errorf("reorder after a bid: %d %s, want 409", res.status, res.body)
	}
	if res := sue.do(http.MethodDelete, fmt.Sprintf("%s%s/%d", up, photos, first.ID), "", nil, nil); res.status != http.StatusConflict {
		t.Errorf("delete after a bid: %d %s, want 409", res.status, res.body)
	}
	if res := sue.upload(up+photos, "more.jpg", testPhoto(t, 500, 400)); res.status != http.StatusCreated {
		t.Errorf("add after a bid: %d %s, want 201", res.status, res.body)
	}

	for _, u := range []string{"/media/" + strings.Repeat("ab", 32) + ".jpg", "/media/not-a-photo.jpg", "/media/../etc/passwd"} {
		if res := bob.do(http.MethodGet, read+u, "", nil, nil); res.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", u, res.status)
		}
	}
}

// checkMediaFile fetches a photo file and checks what any node must
// answer: a JPEG named by the SHA-256 of its bytes, cacheable for good,
// with that hash as its ETag, 304 when the client has it, and no metadata.
// It returns the bytes.
func checkMediaFile(t *testing.T, c *client, url string) []byte {
	t.Helper()
	res := c.do(http.MethodGet, url, "", nil, nil)
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("GET %s: %d %s", url, res.status, res.header.Get("Content-Type"))
	}
	sum := sha256.Sum256(res.body)
	name := hex.EncodeToString(sum[:])
	if !strings.HasSuffix(url, "/media/"+name+".jpg") {
		t.Errorf("%s holds bytes whose SHA-256 is %s", url, name)
	}
	if cc := res.header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("%s: Cache-Control %q", url, cc)
	}
	etag := res.header.Get("ETag")
	if etag != `"`+name+`"` {
		t.Errorf("%s: ETag %q, want the hash", url, etag)
	}
	if res.header.Get("Set-Cookie") != "" {
		t.Errorf("%s sets a cookie; shared caches could not keep it", url)
	}
	if _, format, err := image.DecodeConfig(bytes.NewReader(res.body)); err != nil || format != "jpeg" {
		t.Errorf("%s is not a JPEG: %v %s", url, err, format)
	}
	for _, marker := range []string{phototest.SecretDescription, phototest.SecretGPS, phototest.SecretComment, "Exif"} {
		if bytes.Contains(res.body, []byte(marker)) {
			t.Errorf("%s still carries %q", url, marker)
		}
	}
	if again := c.do(http.MethodGet, url, "", nil, map[string]string{"If-None-Match": etag}); again.status != http.StatusNotModified || len(again.body) != 0 {
		t.Errorf("GET %s with If-None-Match: %d with %d bytes, want an empty 304", url, again.status, len(again.body))
	}
	return res.body
}
