package web

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// routesPhotoPages registers the seller's photo page and its forms, when
// the server has Photos.
func (p *pages) routesPhotoPages() {
	if p.s.deps.Photos == nil {
		return
	}
	p.s.app.Get("/auctions/:id/photos", p.handlePhotosPage)
	p.s.uploadRoute(fiber.MethodPost, "/auctions/:id/photos", photoBodyLimit, p.handlePhotosUpload)
	p.s.app.Post("/auctions/:id/photos/:photo/delete", p.handlePhotoDeleteForm)
	p.s.app.Post("/auctions/:id/photos/:photo/move", p.handlePhotoMoveForm)
}

// coverArg is the argument of the "coverImg" partial.
type coverArg struct {
	Photo *domain.PhotoView
	Alt   string
}

// withCovers sets the cover of every card that has one. Any list of
// auctions can use it, with the "coverImg" partial.
func (p *pages) withCovers(ctx context.Context, cards []cardView) error {
	ids := make([]int64, len(cards))
	for i, c := range cards {
		ids[i] = c.ID
	}
	covers, err := p.s.coverViews(ctx, ids)
	if err != nil {
		return err
	}
	for i := range cards {
		cards[i].Cover = covers[cards[i].ID]
	}
	return nil
}

// galleryPhoto is one photo of the auction page's gallery.
type galleryPhoto struct {
	domain.PhotoView
	Index  int
	Number int // 1-based, for people
	Alt    string
}

// gallery is the auction page's photos.
type gallery struct {
	Photos []galleryPhoto
	Manage bool // the viewer is the seller and may add photos
}

// Count is the number of photos.
func (g gallery) Count() int { return len(g.Photos) }

// auctionGallery loads the auction page's gallery: alt text from the
// title, numbered so a screen reader says which photo is shown.
func (p *pages) auctionGallery(ctx context.Context, a domain.Auction, viewer domain.User) (gallery, error) {
	var g gallery
	if p.s.deps.Photos == nil {
		return g, nil
	}
	ps, err := p.s.deps.Photos.Photos(ctx, a.ID)
	if err != nil {
		return g, err
	}
	for i, ph := range ps {
		g.Photos = append(g.Photos, galleryPhoto{
			PhotoView: ph.View(), Index: i, Number: i + 1,
			Alt: fmt.Sprintf("%s, photo %d of %d", a.Title, i+1, len(ps)),
		})
	}
	g.Manage = viewer.ID != 0 && domain.CanAddPhoto(a, viewer, 0) == nil
	return g, nil
}

// photosData is the seller's photo page's Data.
type photosData struct {
	Auction   domain.AuctionView
	Photos    []galleryPhoto
	CanAdd    bool
	CanChange bool
	Notice    string // why photos can no longer be removed or reordered
	Remaining int
	Max       int
	Error     string
	Errors    map[string]string
}

// photosAuction loads an auction whose photos the viewer manages: theirs.
func (p *pages) photosAuction(c *fiber.Ctx) (domain.User, domain.Auction, bool, error) {
	id, err := auctionID(c)
	if err != nil {
		return domain.User{}, domain.Auction{}, false, err
	}
	u, done, err := p.sellUser(c, "/auctions/"+strconv.FormatInt(id, 10)+"/photos")
	if done || err != nil {
		return u, domain.Auction{}, done, err
	}
	a, err := p.s.deps.Reader.Auction(c.UserContext(), id)
	if err != nil {
		return u, a, false, err
	}
	if a.SellerID != u.ID {
		return u, a, false, domain.ErrPhotoSeller
	}
	return u, a, false, nil
}

// renderPhotos renders the photo page with its current photos and the
// given problem, if any.
func (p *pages) renderPhotos(c *fiber.Ctx, status int, u domain.User, a domain.Auction, problem error) error {
	ps, err := p.s.deps.Photos.Photos(c.UserContext(), a.ID)
	if err != nil {
		return err
	}
	pg := p.base(c, "Photos of "+a.Title, "listings")
	d := photosData{
		Auction: domain.View(a, u, pg.ServerTime), Max: domain.MaxPhotosPerAuction,
		Remaining: max(0, domain.MaxPhotosPerAuction-len(ps)), Errors: map[string]string{},
	}
	for i, ph := range ps {
		d.Photos = append(d.Photos, galleryPhoto{PhotoView: ph.View(), Index: i, Number: i + 1,
			Alt: fmt.Sprintf("%s, photo %d of %d", a.Title, i+1, len(ps))})
	}
	d.CanAdd = domain.CanAddPhoto(a, u, len(ps)) == nil
	if err := domain.CanChangePhotos(a, u); err != nil {
		d.Notice = domain.ErrorMessage(err)
	} else {
		d.CanChange = true
	}
	if problem != nil {
		pr := resolve(problem)
		d.Error = pr.detail
		d.Errors = mergeFields(d.Errors, pr.fields)
	}
	pg.Data = d
	return p.r.render(c, status, "photos", pg)
}

// handlePhotosPage shows the seller's photos of one listing, with forms to
// add, reorder and delete them.
func (p *pages) handlePhotosPage(c *fiber.Ctx) error {
	u, a, done, err := p.photosAuction(c)
	if done || err != nil {
		return err
	}
	return p.renderPhotos(c, fiber.StatusOK, u, a, nil)
}

// refusedPhotos re-renders the photo page with a 4xx problem, or hands a
// server failure (503 included) to the error adapter.
func (p *pages) refusedPhotos(c *fiber.Ctx, u domain.User, a domain.Auction, err error) error {
	pr, ok := pageProblem(err)
	if !ok {
		return err
	}
	return p.renderPhotos(c, pr.status, u, a, err)
}

// backToPhotos redirects to the photo page after a change.
func backToPhotos(c *fiber.Ctx, id int64) error {
	return seeOther(c, "/auctions/"+strconv.FormatInt(id, 10)+"/photos")
}

// handlePhotosUpload adds the chosen files (field "photo", several
// allowed) as the listing's last photos.
func (p *pages) handlePhotosUpload(c *fiber.Ctx) error {
	u, a, done, err := p.photosAuction(c)
	if done || err != nil {
		return err
	}
	form, err := readMultipart(c, photoBodyLimit, "photo", domain.MaxPhotosPerAuction)
	if err != nil {
		return p.refusedPhotos(c, u, a, err)
	}
	if len(form.files) == 0 {
		return p.refusedPhotos(c, u, a, domain.Invalid("photo", "Choose one or more photos to upload."))
	}
	added, err := p.addPhotos(c, u, a.ID, form.files)
	if err != nil {
		return p.refusedPhotos(c, u, a, err)
	}
	p.flash(c, sessionFlashKey, pluralPhotos(added)+" added.")
	return backToPhotos(c, a.ID)
}

// addPhotos adds files in order and stops at the first refusal, which it
// returns prefixed with the file's position when there were several.
func (p *pages) addPhotos(c *fiber.Ctx, u domain.User, auctionID int64, files [][]byte) (int, error) {
	// One bound for the form's files together: up to 12 photos share it.
	ctx, cancel := p.s.photoContext(c)
	defer cancel()
	for i, f := range files {
		if err := p.s.allowUpload(u); err != nil {
			return i, err
		}
		if _, err := p.s.deps.Photos.AddPhoto(ctx, u, auctionID, f); err != nil {
			if len(files) == 1 {
				return i, err
			}
			return i, prefixed(err, fmt.Sprintf("Photo %d of %d: ", i+1, len(files)))
		}
	}
	return len(files), nil
}

// prefixed returns a copy of a *domain.Error with its message prefixed;
// other errors are returned as they are.
func prefixed(err error, prefix string) error {
	de, ok := err.(*domain.Error)
	if !ok || de.Code == domain.CodeInternal {
		return err
	}
	out := *de
	out.Message = prefix + de.Message
	if msg, ok := de.Fields["photo"]; ok {
		out.Fields = map[string]string{"photo": prefix + msg}
	}
	return &out
}

// photoParam reads the :photo route parameter.
func photoParam(c *fiber.Ctx) (int64, error) {
	id, ok := parseID(c.Params("photo"))
	if !ok {
		return 0, domain.ErrPhotoNotFound
	}
	return id, nil
}

// handlePhotoDeleteForm deletes one photo.
func (p *pages) handlePhotoDeleteForm(c *fiber.Ctx) error {
	u, a, done, err := p.photosAuction(c)
	if done || err != nil {
		return err
	}
	photoID, err := photoParam(c)
	if err != nil {
		return err
	}
	if err := p.s.deps.Photos.DeletePhoto(c.UserContext(), u, a.ID, photoID); err != nil {
		return p.refusedPhotos(c, u, a, err)
	}
	p.flash(c, sessionFlashKey, "The photo is deleted.")
	return backToPhotos(c, a.ID)
}

// handlePhotoMoveForm moves one photo: to=cover makes it the first,
// to=earlier and to=later swap it with its neighbour.
func (p *pages) handlePhotoMoveForm(c *fiber.Ctx) error {
	u, a, done, err := p.photosAuction(c)
	if done || err != nil {
		return err
	}
	photoID, err := photoParam(c)
	if err != nil {
		return err
	}
	ps, err := p.s.deps.Photos.Photos(c.UserContext(), a.ID)
	if err != nil {
		return err
	}
	order, err := movedOrder(ps, photoID, strings.TrimSpace(c.FormValue("to")))
	if err != nil {
		return p.refusedPhotos(c, u, a, err)
	}
	if _, err := p.s.deps.Photos.ReorderPhotos(c.UserContext(), u, a.ID, order); err != nil {
		return p.refusedPhotos(c, u, a, err)
	}
	msg := "The photo is moved."
	if order[0] == photoID {
		msg = "The photo is now the cover."
	}
	p.flash(c, sessionFlashKey, msg)
	return backToPhotos(c, a.ID)
}

// movedOrder is the photo ids after moving id as to says.
func movedOrder(ps []domain.Photo, id int64, to string) ([]int64, error) {
	order := make([]int64, len(ps))
	at := -1
	for i, ph := range ps {
		order[i] = ph.ID
		if ph.ID == id {
			at = i
		}
	}
	if at < 0 {
		return nil, domain.ErrPhotoNotFound
	}
	switch to {
	case "cover":
		copy(order[1:at+1], order[:at])
		order[0] = id
	case "earlier":
		if at > 0 {
			order[at-1], order[at] = order[at], order[at-1]
		}
	case "later":
		if at < len(order)-1 {
			order[at], order[at+1] = order[at+1], order[at]
		}
	default:
		return nil, domain.Invalid("to", `Choose where to move the photo: "cover", "earlier" or "later".`)
	}
	return order, nil
}

// listingRoute registers a listing form's POST: with photos on, it is an
// upload route (the form may carry up to 12 of them), else an ordinary
// one under the server's body limit.
func (p *pages) listingRoute(path string, h fiber.Handler) {
	if p.s.deps.Photos == nil {
		p.s.app.Post(path, h)
		return
	}
	p.s.uploadRoute(fiber.MethodPost, path, photoBodyLimit, h)
}

// listingForm reads the listing form: through readMultipart when it
// carries photos (never through Fiber's multipart parsing), else as the
// urlencoded fields it has always been.
func (p *pages) listingForm(c *fiber.Ctx) (get func(string) string, photos [][]byte, err error) {
	if !isMultipart(c) {
		return func(k string) string { return c.FormValue(k) }, nil, nil
	}
	form, err := readMultipart(c, photoBodyLimit, "photo", domain.MaxPhotosPerAuction)
	if err != nil {
		return func(string) string { return "" }, nil, err
	}
	if p.s.deps.Photos == nil {
		form.files = nil
	}
	return form.get, form.files, nil
}

// listingPhotos adds the photos a listing form carried to the saved
// listing. When one is refused the listing stays saved: done is true and
// the seller goes to the photo page, told which photo failed and why.
func (p *pages) listingPhotos(c *fiber.Ctx, u domain.User, auctionID int64, photos [][]byte, saved string) (done bool, err error) {
	if len(photos) == 0 {
		return false, nil
	}
	n, err := p.addPhotos(c, u, auctionID, photos)
	if err == nil {
		return false, nil
	}
	pr := resolve(err)
	p.flash(c, sessionFlashKey, saved+", with "+pluralPhotos(n)+" of "+strconv.Itoa(len(photos))+". "+pr.detail)
	return true, backToPhotos(c, auctionID)
}
