package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const formCT = "application/x-www-form-urlencoded"

// sellFields is a valid listing form ending in two hours.
func sellFields(title string) map[string]string {
	return map[string]string{
		"title": title, "description": "Oak", "currency": "EUR", "start_price": "10.00",
		"ends_at_utc": testNow.Add(2 * time.Hour).Format(time.RFC3339), "soft_close_seconds": "60",
	}
}

// location is the path a redirect points to.
func location(t *testing.T, r resp) string {
	t.Helper()
	if r.status != http.StatusSeeOther {
		t.Fatalf("status %d, want 303; body %s", r.status, r.body)
	}
	return r.header.Get("Location")
}

// follow GETs a redirect's target with the same cookie, to read its flash.
func (e *testEnv) follow(t *testing.T, r resp, cookie string) string {
	t.Helper()
	return string(e.do(req{method: "GET", path: location(t, r), cookie: cookie}).wantStatus(t, 200).body)
}

func TestCoversAndGallery(t *testing.T) {
	t.Parallel()
	e, _ := photoEnv(t)
	e.mustUser("sue@example.com", "Sue", false)
	e.mustUser("bob@example.com", "Bob", false)
	sue, bob := e.mustLogin("sue@example.com"), e.mustLogin("bob@example.com")
	id := e.mustAuction(sue, "")
	bare := e.mustAuction(sue, "")
	p1 := e.uploadPhoto(sue, id, jpegLike(1)).wantStatus(t, 201).json(t)
	e.uploadPhoto(sue, id, jpegLike(2)).wantStatus(t, 201)
	thumb := p1["urls"].(map[string]any)["thumb"].(string)

	// The cover on every list: home, my listings, my bids.
	cover := `<img class="cover" src="` + thumb + `" alt="Lamp"`
	mustContain(t, string(e.do(req{method: "GET", path: "/"}).wantStatus(t, 200).body), cover)
	mustContain(t, string(e.do(req{method: "GET", path: "/me/listings", cookie: sue}).wantStatus(t, 200).body), cover,
		`href="/auctions/`+strconv.FormatInt(id, 10)+`/photos">Photos</a>`)
	e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":1000}`, cookie: bob}).wantStatus(t, 201)
	mustContain(t, string(e.do(req{method: "GET", path: "/me/bids", cookie: bob}).wantStatus(t, 200).body), cover)
	if n := strings.Count(string(e.do(req{method: "GET", path: "/"}).body), `class="cover"`); n != 1 {
		t.Errorf("%d covers on the home page; want 1 (auction %d has no photo)", n, bare)
	}

	// The gallery: stage, numbered alt text from the title, thumbnails
	// that work as links without JavaScript, and its script.
	page := string(e.do(req{method: "GET", path: "/auctions/" + strconv.FormatInt(id, 10)}).wantStatus(t, 200).body)
	mustContain(t, page, `id="gallery"`, `id="gallery-image"`, `alt="Lamp, photo 1 of 2"`, `alt="Lamp, photo 2 of 2"`,
		`class="gallery-thumb" href="/media/`, `aria-current="true"`, `/static/js/gallery.js?v=`, `Photo 1 of 2`)
	mustNotContain(t, page, "Manage photos")
	seller := string(e.do(req{method: "GET", path: "/auctions/" + strconv.FormatInt(id, 10), cookie: sue}).body)
	mustContain(t, seller, `>Manage photos</a>`)
	none := string(e.do(req{method: "GET", path: "/auctions/" + strconv.FormatInt(bare, 10), cookie: sue}).body)
	mustNotContain(t, none, `id="gallery"`)
	mustContain(t, none, `>Add photos</a>`)
}

func TestPhotoPage(t *testing.T) {
	t.Parallel()
	e, photos := photoEnv(t)
	e.mustUser("sue@example.com", "Sue", false)
	e.mustUser("bob@example.com", "Bob", false)
	sue, bob := e.mustLogin("sue@example.com"), e.mustLogin("bob@example.com")
	id := e.mustAuction(sue, "")
	path := "/auctions/" + strconv.FormatInt(id, 10) + "/photos"

	if r := e.do(req{method: "GET", path: path}); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Fatalf("anonymous: %d %s", r.status, r.header.Get("Location"))
	}
	e.do(req{method: "GET", path: path, cookie: bob}).wantStatus(t, http.StatusForbidden)
	empty := string(e.do(req{method: "GET", path: path, cookie: sue}).wantStatus(t, 200).body)
	mustContain(t, empty, `enctype="multipart/form-data"`, `name="photo" type="file"`, "12 of 12 places left", `id="photos-empty"`)

	// Upload two at once.
	body, ct := multipartBody(t, nil, jpegLike(1), jpegLike(2))
	r := e.do(req{method: "POST", path: path, body: body, contentType: ct, cookie: sue})
	mustContain(t, e.follow(t, r, sue), "2 photos added.", "10 of 12 places left", `<span class="tag">Cover</span>`)
	ps, _ := photos.Photos(t.Context(), id)
	if len(ps) != 2 {
		t.Fatalf("%d photos", len(ps))
	}

	// The second becomes the cover, then the (new) second is deleted.
	second := ps[1].ID
	r = e.do(req{method: "POST", path: fmt.Sprintf("%s/%d/move", path, second), body: "to=cover", contentType: formCT, cookie: sue})
	mustContain(t, e.follow(t, r, sue), "The photo is now the cover.")
	ps, _ = photos.Photos(t.Context(), id)
	if ps[0].ID != second {
		t.Fatalf("photos %+v, want %d first", ps, second)
	}
	cover := ps[0].ID
	r = e.do(req{method: "POST", path: fmt.Sprintf("%s/%d/move", path, cover), body: "to=sideways", contentType: formCT, cookie: sue})
	r.wantStatus(t, 422)
	mustContain(t, string(r.body), `id="form-error"`, "earlier")
	r = e.do(req{method: "POST", path: fmt.Sprintf("%s/%d/delete", path, ps[1].ID), body: "", contentType: formCT, cookie: sue})
	mustContain(t, e.follow(t, r, sue), "The photo is deleted.")
	if ps, _ = photos.Photos(t.Context(), id); len(ps) != 1 || ps[0].ID != cover {
		t.Fatalf("after delete: %+v", ps)
	}

	// A refused file re-renders the page with the problem beside the input.
	body, ct = multipartBody(t, nil, []byte("GIF89a"))
	r = e.do(req{method: "POST", path: path, body: body, contentType: ct, cookie: sue})
	r.wantStatus(t, http.StatusUnsupportedMediaType)
	mustContain(t, string(r.body), `id="form-error"`, "Not a photo.", `aria-invalid="true"`)
	body, ct = multipartBody(t, nil)
	e.do(req{method: "POST", path: path, body: body, contentType: ct, cookie: sue}).wantStatus(t, 422)

	// After the first bid: adding only, and the page says why.
	e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":1000}`, cookie: bob}).wantStatus(t, 201)
	locked := string(e.do(req{method: "GET", path: path, cookie: sue}).wantStatus(t, 200).body)
	mustContain(t, locked, `id="photos-notice"`, "already has bids", `id="photo-form"`)
	mustNotContain(t, locked, ">Delete</button>", ">Make cover</button>")
	r = e.do(req{method: "POST", path: fmt.Sprintf("%s/%d/delete", path, cover), contentType: formCT, cookie: sue})
	r.wantStatus(t, http.StatusConflict)
	mustContain(t, string(r.body), "can no longer be removed or reordered")
}

func TestSellFormWithPhotos(t *testing.T) {
	t.Parallel()
	e, photos := photoEnv(t)
	e.mustUser("sue@example.com", "Sue", false)
	sue := e.mustLogin("sue@example.com")
	mustContain(t, string(e.do(req{method: "GET", path: "/sell", cookie: sue}).wantStatus(t, 200).body),
		`enctype="multipart/form-data"`, `id="photo" name="photo" type="file"`)

	// Listed with its photo, straight to the lot page.
	body, ct := multipartBody(t, sellFields("Chair"), jpegLike(1))
	r := e.do(req{method: "POST", path: "/sell", body: body, contentType: ct, cookie: sue})
	to := location(t, r)
	id, err := strconv.ParseInt(strings.TrimPrefix(to, "/auctions/"), 10, 64)
	if err != nil {
		t.Fatalf("redirect to %q", to)
	}
	if a, _ := e.store.Auction(t.Context(), id); a.Title != "Chair" {
		t.Fatalf("listing %+v", a)
	}
	if ps, _ := photos.Photos(t.Context(), id); len(ps) != 1 {
		t.Fatalf("%d photos on the new listing", len(ps))
	}

	// A refused photo: the listing is up, the seller lands on its photo
	// page told why.
	body, ct = multipartBody(t, sellFields("Table"), jpegLike(2), []byte("PK\x03\x04"))
	r = e.do(req{method: "POST", path: "/sell", body: body, contentType: ct, cookie: sue})
	if to := location(t, r); !strings.HasSuffix(to, "/photos") {
		t.Fatalf("redirect to %q", to)
	}
	mustContain(t, e.follow(t, r, sue), "Your listing is up, with 1 photo of 2. Photo 2 of 2: Not a photo.")

	// A form error: the photos must be chosen again, and nothing is listed.
	before := len(e.store.auctions)
	bad := sellFields("")
	body, ct = multipartBody(t, bad, jpegLike(3))
	r = e.do(req{method: "POST", path: "/sell", body: body, contentType: ct, cookie: sue}).wantStatus(t, 422)
	mustContain(t, string(r.body), "Choose the photos again", `href="#photo"`)
	if len(e.store.auctions) != before {
		t.Fatal("a refused form listed an auction")
	}

	// The edit form takes photos too.
	body, ct = multipartBody(t, sellFields("Chair, oak"), jpegLike(4))
	r = e.do(req{method: "POST", path: "/auctions/" + strconv.FormatInt(id, 10) + "/edit", body: body, contentType: ct, cookie: sue})
	mustContain(t, e.follow(t, r, sue), "Your changes are saved.")
	if ps, _ := photos.Photos(t.Context(), id); len(ps) != 2 {
		t.Fatalf("%d photos after the edit", len(ps))
	}
	if a, _ := e.store.Auction(t.Context(), id); a.Title != "Chair, oak" {
		t.Fatalf("edit not saved: %+v", a)
	}

	// Without Photos the form stays as it was: urlencoded, no file input.
	plain := newEnv(t)
	plain.mustUser("sue@example.com", "Sue", false)
	psue := plain.mustLogin("sue@example.com")
	page := string(plain.do(req{method: "GET", path: "/sell", cookie: psue}).body)
	mustNotContain(t, page, "multipart/form-data", `type="file"`)
	form := url.Values{}
	for k, v := range sellFields("Lamp") {
		form.Set(k, v)
	}
	location(t, plain.do(req{method: "POST", path: "/sell", body: form.Encode(), contentType: formCT, cookie: psue}))
}
