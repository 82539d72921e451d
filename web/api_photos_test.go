package web

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
)

// photoEnv is a testEnv whose server has fakePhotos.
func photoEnv(t *testing.T) (*testEnv, *fakePhotos) {
	t.Helper()
	var photos *fakePhotos
	e := newEnv(t, func(_ *Config, d *Deps) {
		photos = newFakePhotos(d.Accounts.(*fakeStore))
		d.Photos = photos
	})
	return e, photos
}

// jpegLike is an upload the fake accepts, distinct per n.
func jpegLike(n int) []byte {
	return append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, fmt.Sprintf("photo %d \x00\x01\r\n--not-a-boundary", n)...)
}

// multipartBody encodes fields and files (all under field "photo").
func multipartBody(t *testing.T, fields map[string]string, files ...[]byte) (string, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range files {
		part, err := w.CreateFormFile("photo", "photo"+strconv.Itoa(i)+".jpg")
		if err != nil {
			t.Fatal(err)
		}
		part.Write(f)
	}
	w.Close()
	return b.String(), w.FormDataContentType()
}

func (e *testEnv) uploadPhoto(cookie string, id int64, files ...[]byte) resp {
	e.t.Helper()
	body, ct := multipartBody(e.t, nil, files...)
	return e.do(req{method: "POST", path: auctionPath(id, "/photos"), body: body, contentType: ct, cookie: cookie})
}

func TestPhotoAPI(t *testing.T) {
	t.Parallel()
	e, photos := photoEnv(t)
	e.mustUser("sue@example.com", "Sue", false)
	sue := e.mustLogin("sue@example.com")
	id := e.mustAuction(sue, "")

	r := e.uploadPhoto(sue, id, jpegLike(1)).wantStatus(t, http.StatusCreated)
	p1 := r.json(t)
	urls, _ := p1["urls"].(map[string]any)
	if p1["id"] == nil || !strings.HasPrefix(urls["thumb"].(string), "/media/") || urls["medium"] == nil || urls["large"] == nil {
		t.Fatalf("created photo = %s", r.body)
	}
	if got := photos.uploads[0]; !bytes.Equal(got, jpegLike(1)) {
		t.Fatalf("the service received %q, not the file sent", got)
	}
	// Processing gets its own bound, not what is left of the request's
	// 5 s: a photo that waited for a decode slot must still be stored.
	if left := photos.left[0]; left <= DefaultDependencyTimeout {
		t.Fatalf("the upload reached the service with %v left, want more than the request bound %v", left, DefaultDependencyTimeout)
	}
	p2 := e.uploadPhoto(sue, id, jpegLike(2)).wantStatus(t, http.StatusCreated).json(t)

	// The auction resource carries the photos, cover first; the list
	// carries each auction's cover.
	a := e.do(req{method: "GET", path: auctionPath(id, "")}).wantStatus(t, 200).json(t)
	ps, _ := a["photos"].([]any)
	if len(ps) != 2 || ps[0].(map[string]any)["id"] != p1["id"] {
		t.Fatalf("auction photos = %v", a["photos"])
	}
	list := e.do(req{method: "GET", path: "/api/v1/auctions"}).wantStatus(t, 200).json(t)
	first := list["auctions"].([]any)[0].(map[string]any)
	if cover, _ := first["cover"].(map[string]any); cover["id"] != p1["id"] {
		t.Fatalf("list cover = %v", first["cover"])
	}

	// Reorder, then delete the new cover.
	order := fmt.Sprintf(`{"order":[%v,%v]}`, p2["id"], p1["id"])
	got := e.do(req{method: "PUT", path: auctionPath(id, "/photos/order"), body: order, cookie: sue}).wantStatus(t, 200).json(t)
	if got["photos"].([]any)[0].(map[string]any)["id"] != p2["id"] {
		t.Fatalf("reordered = %v", got)
	}
	e.do(req{method: "PUT", path: auctionPath(id, "/photos/order"), body: `{"order":[]}`, cookie: sue}).wantProblem(t, 422, domain.CodeInvalid)
	e.do(req{method: "PUT", path: auctionPath(id, "/photos/order"), body: `{"order":[999]}`, cookie: sue}).wantProblem(t, 422, domain.CodeInvalid)
	e.do(req{method: "DELETE", path: auctionPath(id, fmt.Sprintf("/photos/%v", p2["id"])), cookie: sue}).wantStatus(t, http.StatusNoContent)
	e.do(req{method: "DELETE", path: auctionPath(id, fmt.Sprintf("/photos/%v", p2["id"])), cookie: sue}).wantProblem(t, 404, domain.CodeNotFound)
	e.do(req{method: "DELETE", path: auctionPath(id, "/photos/x1"), cookie: sue}).wantProblem(t, 404, domain.CodeNotFound)
	list2 := e.do(req{method: "GET", path: auctionPath(id, "/photos")}).wantStatus(t, 200).json(t)
	if ps := list2["photos"].([]any); len(ps) != 1 || ps[0].(map[string]any)["id"] != p1["id"] {
		t.Fatalf("after delete = %v", list2)
	}
	e.do(req{method: "GET", path: auctionPath(id+100, "/photos")}).wantProblem(t, 404, domain.CodeNotFound)

	// Someone else's auction.
	e.mustUser("bob@example.com", "Bob", false)
	bob := e.mustLogin("bob@example.com")
	e.uploadPhoto(bob, id, jpegLike(3)).wantProblem(t, http.StatusForbidden, domain.CodeForbidden)
	e.do(req{method: "DELETE", path: auctionPath(id, fmt.Sprintf("/photos/%v", p1["id"])), cookie: bob}).wantProblem(t, 403, domain.CodeForbidden)
}

// TestPhotoUploadRefusals: every refusal is a 4xx problem naming what to
// fix, or a 503 with Retry-After; never a 500.
func TestPhotoUploadRefusals(t *testing.T) {
	t.Parallel()
	e, photos := photoEnv(t)
	e.mustUser("sue@example.com", "Sue", false)
	sue := e.mustLogin("sue@example.com")
	id := e.mustAuction(sue, "")
	path := auctionPath(id, "/photos")
	twoFiles, twoCT := multipartBody(t, nil, jpegLike(1), jpegLike(2))
	noFile, noFileCT := multipartBody(t, map[string]string{"title": "x"})

	tests := []struct {
		name   string
		r      req
		status int
		code   domain.Code
	}{
		{"anonymous", req{method: "POST", path: path, body: "x", contentType: "image/jpeg"}, 401, domain.CodeUnauthorized},
		{"not multipart", req{method: "POST", path: path, body: string(jpegLike(1)), contentType: "image/jpeg", cookie: sue}, 415, codeUnsupported},
		{"no boundary", req{method: "POST", path: path, body: "x", contentType: "multipart/form-data", cookie: sue}, 415, codeUnsupported},
		{"compressed", req{method: "POST", path: path, body: twoFiles, contentType: twoCT, cookie: sue, header: map[string]string{"Content-Encoding": "gzip"}}, 415, codeUnsupported},
		{"malformed multipart", req{method: "POST", path: path, body: "--b\r\nnot a header line\r\n", contentType: "multipart/form-data; boundary=b", cookie: sue}, 400, codeMalformed},
		{"no photo field", req{method: "POST", path: path, body: noFile, contentType: noFileCT, cookie: sue}, 422, domain.CodeInvalid},
		{"two photos", req{method: "POST", path: path, body: twoFiles, contentType: twoCT, cookie: sue}, 422, domain.CodeInvalid},
		{"not a photo", req{method: "POST", path: path, body: mustMultipart(t, []byte("PK\x03\x04")), contentType: mpCT, cookie: sue}, 415, codeUnsupported},
		{"no such auction", req{method: "POST", path: auctionPath(id+99, "/photos"), body: mustMultipart(t, jpegLike(1)), contentType: mpCT, cookie: sue}, 404, domain.CodeNotFound},
		{"bad auction id", req{method: "POST", path: "/api/v1/auctions/abc/photos", body: mustMultipart(t, jpegLike(1)), contentType: mpCT, cookie: sue}, 404, domain.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := e.with(t).do(tt.r).wantProblem(t, tt.status, tt.code)
			if tt.status == 422 {
				if errs, _ := m["errors"].(map[string]any); errs["photo"] == nil {
					t.Errorf("no message for the photo field: %v", m)
				}
			}
		})
	}

	// What the service refuses keeps its code; a busy decoder is 503 with
	// Retry-After.
	for _, c := range []struct {
		err    error
		status int
	}{
		{domain.Errorf(domain.CodeTooLarge, "The photo is 17.0 MB; photos may be at most 15 MB."), 413},
		{domain.Invalid("photo", "The image is truncated."), 422},
		{&domain.Error{Code: domain.CodeUnavailable, Message: "Too many photos are being processed.", Extra: map[string]any{"retry_after": int64(5)}}, 503},
	} {
		photos.mu.Lock()
		photos.addErr = c.err
		photos.mu.Unlock()
		r := e.uploadPhoto(sue, id, jpegLike(9))
		m := r.wantProblem(t, c.status, domain.ErrorCode(c.err))
		if m["detail"] != domain.ErrorMessage(c.err) {
			t.Errorf("detail = %v", m["detail"])
		}
		if c.status == 503 && r.header.Get("Retry-After") != "5" {
			t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
		}
	}
}

// TestPhotoBodyLimit: a body over the upload limit is a 413 from a real
// listener (app.Test refuses to send it at all).
func TestPhotoBodyLimit(t *testing.T) {
	t.Parallel()
	e, photos := photoEnv(t)
	e.mustUser("sue@example.com", "Sue", false)
	sue := e.mustLogin("sue@example.com")
	id := e.mustAuction(sue, "")
	base := e.listen()
	// Send a body over the upload limit (past what the server would drain
	// to keep the connection): it is refused from its announced length
	// with 413, or the connection is reset once the server has refused
	// (a client still sending may lose the answer: RFC 9112 section 9.6).
	_ = sue
	if status := streamHuge(t, strings.TrimPrefix(base, "http://"), auctionPath(id, "/photos"), int64(photoBodyLimit+maxDrain+1), false); status != 413 && status != 0 {
		t.Fatalf("status = %d, want 413", status)
	}
	if len(photos.uploads) != 0 {
		t.Fatal("an oversize body reached the service")
	}
}

var mpCT string

// mustMultipart is a one-photo multipart body; its Content-Type is mpCT.
func mustMultipart(t *testing.T, file []byte) string {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.SetBoundary("gavel-test-boundary"); err != nil {
		t.Fatal(err)
	}
	part, _ := w.CreateFormFile("photo", "a.jpg")
	part.Write(file)
	w.Close()
	mpCT = w.FormDataContentType()
	return b.String()
}

func TestPhotoUploadRateLimit(t *testing.T) {
	t.Parallel()
	e, _ := photoEnv(t)
	e.mustUser("sue@example.com", "Sue", false)
	sue := e.mustLogin("sue@example.com")
	id := e.mustAuction(sue, "")
	refused := 0
	for range photoRateLimit + 1 {
		// Refused by the fake (not a JPEG): each one still spends a token.
		if r := e.uploadPhoto(sue, id, []byte("GIF89a")); r.status == http.StatusTooManyRequests {
			refused++
			if r.header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
	}
	if refused != 1 {
		t.Fatalf("%d of %d uploads refused as too many; want the last one", refused, photoRateLimit+1)
	}
	e.clock.advance(photoRateWindow)
	e.uploadPhoto(sue, id, jpegLike(1)).wantStatus(t, http.StatusCreated)
}

func TestMediaFiles(t *testing.T) {
	t.Parallel()
	e, photos := photoEnv(t)
	e.mustUser("sue@example.com", "Sue", false)
	sue := e.mustLogin("sue@example.com")
	id := e.mustAuction(sue, "")
	p := e.uploadPhoto(sue, id, jpegLike(1)).wantStatus(t, 201).json(t)
	url := p["urls"].(map[string]any)["thumb"].(string)
	name := strings.TrimPrefix(url, "/media/")

	// With a session cookie too: the answer must not vary by it.
	r := e.do(req{method: "GET", path: url, cookie: sue}).wantStatus(t, 200)
	if !bytes.Equal(r.body, photos.files[name]) {
		t.Fatalf("body = %q", r.body)
	}
	etag := `"` + strings.TrimSuffix(name, ".jpg") + `"`
	for k, want := range map[string]string{
		"Content-Type":           "image/jpeg",
		"Cache-Control":          "public, max-age=31536000, immutable",
		"ETag":                   etag,
		"X-Content-Type-Options": "nosniff",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if r.header.Get("Set-Cookie") != "" || strings.Contains(r.header.Get("Vary"), "Cookie") {
		t.Errorf("a photo file varies by session: Set-Cookie %q, Vary %q", r.header.Get("Set-Cookie"), r.header.Get("Vary"))
	}
	e.do(req{method: "GET", path: url, header: map[string]string{"If-None-Match": etag}}).wantStatus(t, http.StatusNotModified)
	e.do(req{method: "GET", path: url, header: map[string]string{"If-None-Match": `"other"`}}).wantStatus(t, 200)
	if h := e.do(req{method: "HEAD", path: url}).wantStatus(t, 200); h.header.Get("ETag") != etag {
		t.Errorf("HEAD ETag = %q", h.header.Get("ETag"))
	}
	e.do(req{method: "GET", path: "/media/" + strings.Repeat("0", 64) + ".jpg"}).wantStatus(t, 404)
	e.do(req{method: "GET", path: "/media/../static/css/app.css"}).wantStatus(t, 404)
}

// TestNoPhotos: a server without Photos serves no photo route and its
// resources carry no photos.
func TestNoPhotos(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("sue@example.com", "Sue", false)
	sue := e.mustLogin("sue@example.com")
	id := e.mustAuction(sue, "")
	e.uploadPhoto(sue, id, jpegLike(1)).wantStatus(t, 404)
	e.do(req{method: "GET", path: "/media/" + strings.Repeat("a", 64) + ".jpg"}).wantStatus(t, 404)
	if a := e.do(req{method: "GET", path: auctionPath(id, "")}).json(t); a["photos"] != nil {
		t.Errorf("photos = %v", a["photos"])
	}
	if cfg := e.srv.App().Config(); cfg.BodyLimit != DefaultBodyLimit {
		t.Errorf("BodyLimit = %d without uploads", cfg.BodyLimit)
	}
	// Bodies stream (body.go): the server-wide limit stays, and only the
	// upload routes take photo-sized bodies.
	pe, _ := photoEnv(t)
	if cfg := pe.srv.App().Config(); cfg.BodyLimit != DefaultBodyLimit {
		t.Errorf("BodyLimit = %d with uploads, want %d", cfg.BodyLimit, DefaultBodyLimit)
	}
	if limit, ok := pe.srv.uploadLimit("POST", auctionPath(id, "/photos")); !ok || limit != photoBodyLimit {
		t.Errorf("photo upload limit = %d, %v; want %d", limit, ok, photoBodyLimit)
	}
	if _, ok := e.srv.uploadLimit("POST", auctionPath(id, "/photos")); ok {
		t.Error("an upload route without photos")
	}
}
