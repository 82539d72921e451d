package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gavel-auctions/gavel/internal/phototest"
)

// coverOf is a JavaScript expression: the cover image of auction id's card
// on a list page, or null.
func coverOf(id string) string {
	return `document.querySelector('.auction-card[data-auction-id="` + id + `"] img.cover')`
}

// loaded is a JavaScript condition: the image expr names has arrived and
// decoded (a broken /media/ URL leaves naturalWidth at 0).
func loaded(expr string) string {
	return `(function (img) { return !!img && img.complete && img.naturalWidth > 0; })(` + expr + `)`
}

// checkImagesHaveAlt fails the test for any image on the page without alt
// text, the accessibility rule photos must keep.
func (b *tab) checkImagesHaveAlt(step string) {
	b.t.Helper()
	if bad := b.str(`Array.from(document.images).filter(function (i) { return !i.alt || !i.alt.trim(); })
		.map(function (i) { return i.src; }).join(' ')`); bad != "" {
		b.t.Errorf("%s: %s: images without alt text: %s", b.name, step, bad)
	}
}

// TestBrowserPhotos: a seller lists an item with a photo from /sell, sees
// it on the lot page and on the cards, adds another from the edit page,
// browses them with the keyboard, picks the cover, and is told why a ZIP
// named .jpg is refused.
func TestBrowserPhotos(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-browser test")
	}
	requireChromium(t)
	n, _, _ := startBrowserNode(t)
	base := n.URL()
	dir := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := file("IMG_0001.jpg", phototest.WithMetadata(testPhoto(t, 1200, 900), 1))
	second := file("IMG_0002.jpg", testPhoto(t, 640, 900))
	zip := file("holiday.jpg", append([]byte("PK\x03\x04\x14\x00\x00\x00"), make([]byte, 300)...))

	sam := startBrowser(t, "seller", 1280, 900)
	phone := sam.newProfile("visitor-phone", 375, 812)
	sam.register(base, "Sam Seller", "sam@example.com", "sam-password", "/sell", "#sell-form")
	sam.checkA11y("sell page with a photo input")

	// 1. List an item with a photo from /sell.
	const title = "Walnut writing slope"
	sam.fill("title", title)
	sam.fill("description", "Brass-bound, with its key.")
	sam.fill("currency", "EUR")
	sam.fill("start_price", "20.00")
	sam.fillEndsAt(time.Now().Add(time.Hour).Truncate(time.Second))
	sam.do("choose a photo", 10*time.Second, chromedp.SetUploadFiles(`#photo`, []string{first}))
	sam.do("list the item", 30*time.Second, chromedp.Click(chromedp.CSS("#sell-submit")), chromedp.WaitVisible(chromedp.CSS("#auction")))
	id := sam.str(`document.getElementById('auction').dataset.auctionId`)
	sam.waitFor("the photo on the lot page", loaded(`document.getElementById('gallery-image')`),
		`document.getElementById('gallery') ? document.getElementById('gallery').outerHTML : document.body.innerText`, 15*time.Second)
	if alt := sam.str(`document.getElementById('gallery-image').alt`); alt != title+", photo 1 of 1" {
		t.Errorf("the photo's alt text is %q", alt)
	}
	sam.checkImagesHaveAlt("lot page")
	sam.checkA11y("lot page with a gallery")
	sam.checkConsole("listed with a photo")

	// 2. The cover is on the card, on the home page and in my listings.
	for _, page := range []string{"/", "/me/listings"} {
		sam.open(base+page, `.auction-card[data-auction-id="`+id+`"]`)
		sam.waitFor("the cover on "+page, loaded(coverOf(id)), `document.querySelector('.auction-card').outerHTML`, 15*time.Second)
		if alt := sam.str(coverOf(id) + `.alt`); alt != title {
			t.Errorf("%s: the cover's alt text is %q, want the title", page, alt)
		}
		sam.checkImagesHaveAlt(page)
		sam.checkA11y("cards with covers")
	}
	firstThumb := sam.str(coverOf(id) + `.getAttribute('src')`)

	// 3. Add a second photo from the edit page.
	sam.open(base+"/auctions/"+id+"/edit", "#sell-form")
	sam.checkA11y("edit page with a photo input")
	sam.do("choose another photo", 10*time.Second, chromedp.SetUploadFiles(`#photo`, []string{second}))
	sam.do("save", 30*time.Second, chromedp.Click(chromedp.CSS("#sell-submit")), chromedp.WaitVisible(chromedp.CSS("#auction")))
	sam.waitFor("two photos in the gallery", `document.querySelectorAll('#gallery-thumbs .gallery-thumb').length === 2`,
		`document.getElementById('gallery').outerHTML`, 15*time.Second)
	sam.checkConsole("edited with a photo")

	// 4. The gallery follows the keyboard, on a phone too, and the focus
	// shows where it is.
	phone.open(base+"/auctions/"+id, "#gallery-thumbs")
	phone.checkNoHorizontalScroll("lot page with a gallery")
	phone.checkImagesHaveAlt("lot page with a gallery")
	phone.checkA11y("lot page with two photos, on a phone")
	phone.do("focus the first thumbnail", 10*time.Second, chromedp.Focus(`#gallery-thumbs .gallery-thumb[data-index="0"]`))
	phone.do("arrow right", 10*time.Second, chromedp.KeyEvent(kb.ArrowRight))
	phone.waitFor("photo 2 shown", `document.getElementById('gallery-caption').textContent === 'Photo 2 of 2' &&
		document.getElementById('gallery-image').getAttribute('src') === document.querySelectorAll('.gallery-thumb')[1].dataset.medium &&
		document.activeElement === document.querySelectorAll('.gallery-thumb')[1]`,
		`document.getElementById('gallery-caption').textContent + ' ' + document.activeElement.outerHTML`, 5*time.Second)
	if phone.str(`String(document.activeElement.matches(':focus-visible') && getComputedStyle(document.activeElement).outlineStyle !== 'none')`) != "true" {
		t.Error("the focused thumbnail shows no focus ring")
	}
	phone.waitFor("photo 2 loaded", loaded(`document.getElementById('gallery-image')`), `document.getElementById('gallery-image').outerHTML`, 15*time.Second)
	if alt := phone.str(`document.getElementById('gallery-image').alt`); alt != title+", photo 2 of 2" {
		t.Errorf("photo 2's alt text is %q", alt)
	}
	phone.do("arrow right again", 10*time.Second, chromedp.KeyEvent(kb.ArrowRight))
	phone.waitFor("back to photo 1", `document.getElementById('gallery-caption').textContent === 'Photo 1 of 2'`,
		`document.getElementById('gallery-caption').textContent`, 5*time.Second)
	phone.do("end", 10*time.Second, chromedp.KeyEvent(kb.End))
	phone.waitFor("the last photo", `document.getElementById('gallery-caption').textContent === 'Photo 2 of 2'`,
		`document.getElementById('gallery-caption').textContent`, 5*time.Second)
	phone.checkConsole("keyboard gallery")

	// 5. Make the second photo the cover; the cards follow.
	sam.open(base+"/auctions/"+id+"/photos", "#photo-grid")
	sam.checkA11y("photo page")
	sam.do("make photo 2 the cover", 15*time.Second,
		chromedp.Click(chromedp.CSS(`button[aria-label="Make cover: photo 2"]`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := sam.str(`document.querySelector('.flash').textContent.trim()`); got != "The photo is now the cover." {
		t.Errorf("after choosing the cover: %q", got)
	}
	sam.open(base+"/", `.auction-card[data-auction-id="`+id+`"]`)
	sam.waitFor("the new cover", loaded(coverOf(id))+` && `+coverOf(id)+`.getAttribute('src') !== `+jsString(firstThumb),
		coverOf(id)+`.outerHTML`, 15*time.Second)

	// 6. A ZIP archive named .jpg is refused, and the page says why.
	sam.open(base+"/auctions/"+id+"/photos", "#photo-form")
	sam.do("choose a ZIP named .jpg", 10*time.Second, chromedp.SetUploadFiles(`#photo`, []string{zip}))
	sam.do("upload it", 15*time.Second, chromedp.Click(chromedp.CSS("#photo-submit")), chromedp.WaitVisible(chromedp.CSS("#form-error")))
	sam.waitFor("the refusal names the problem", `document.getElementById('form-error').textContent.indexOf('ZIP archive') >= 0 &&
		document.getElementById('photo-error').textContent.indexOf('ZIP archive') >= 0 &&
		document.getElementById('photo').getAttribute('aria-invalid') === 'true'`,
		`document.getElementById('form-error').outerHTML`, 5*time.Second)
	sam.expectConsole("ZIP upload", "415")
	if got := sam.str(`String(document.querySelectorAll('#photo-grid .photo-item').length)`); got != "2" {
		t.Errorf("after the refused upload the page shows %s photos, want 2", got)
	}
	sam.checkA11y("photo page with a refused upload")
	sam.checkConsole("photo page")
}
