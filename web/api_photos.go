package web

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// Photo upload limits. A photo may be 15 MiB (media.MaxUploadBytes); the
// body adds the multipart framing. The listing forms carry their fields
// and as many photos as fit in the same body.
const (
	photoBodyLimit = 16 << 20
	// photoRateLimit uploads per photoRateWindow per user: decoding is the
	// costliest thing a user can ask of a node.
	photoRateLimit  = 30
	photoRateWindow = time.Minute
	// mediaCacheControl: a file's name is the hash of its bytes, so a URL
	// never changes meaning and may be cached for good.
	mediaCacheControl = "public, max-age=31536000, immutable"
)

// photoAPI holds the photo API's handlers.
type photoAPI struct {
	s *Server
}

// routesPhotos registers the photo API and the /media/ files, when the
// server has Photos.
func (s *Server) routesPhotos() {
	if s.deps.Photos == nil {
		return
	}
	h := &photoAPI{s: s}
	api := s.app.Group("/api/v1/auctions/:id/photos")
	api.Get("", h.handlePhotoList)
	// An upload route: its body may exceed the server's limit and is
	// read as a stream, in an upload slot (body.go).
	s.uploadRoute(fiber.MethodPost, "/api/v1/auctions/:id/photos", photoBodyLimit, h.handlePhotoCreate)
	api.Put("/order", h.handlePhotoOrder)
	api.Delete("/:photo", h.handlePhotoDelete)
	s.app.Get(domain.MediaPathPrefix+":name", h.handleMedia)
}

// photoViews converts photos for the API and the pages.
func photoViews(ps []domain.Photo) []domain.PhotoView {
	out := make([]domain.PhotoView, len(ps))
	for i, p := range ps {
		out[i] = p.View()
	}
	return out
}

// photoList is the response listing an auction's photos.
type photoList struct {
	Photos []domain.PhotoView `json:"photos"`
}

// sellerOnly refuses anyone but the auction's seller before a body is
// read: the answer to a stranger must not depend on what they sent. The
// photo service checks again in its own transaction.
func (s *Server) sellerOnly(c *fiber.Ctx, u domain.User, auctionID int64) error {
	a, err := s.deps.Reader.Auction(c.UserContext(), auctionID)
	if err != nil {
		return err
	}
	if a.SellerID != u.ID {
		return domain.ErrNotSeller
	}
	return nil
}

// allowUpload spends one of the user's uploads.
func (s *Server) allowUpload(u domain.User) error {
	if ok, retry := s.photoLimit.allow(strconv.FormatInt(u.ID, 10)); !ok {
		return rateLimited("You are uploading photos too quickly. Wait a moment and try again.", retry)
	}
	return nil
}

// handlePhotoCreate adds one photo (multipart field "photo") to the
// seller's auction: 201 with the photo.
func (h *photoAPI) handlePhotoCreate(c *fiber.Ctx) error {
	u, err := h.s.requireActor(c)
	if err != nil {
		return err
	}
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	if err := h.s.sellerOnly(c, u, id); err != nil {
		return err
	}
	if err := h.s.allowUpload(u); err != nil {
		return err
	}
	form, err := readMultipart(c, photoBodyLimit, "photo", 1)
	if err != nil {
		return err
	}
	if len(form.files) == 0 {
		return domain.Invalid("photo", `Attach the photo as a file in the form field "photo".`)
	}
	ctx, cancel := h.s.photoContext(c)
	defer cancel()
	p, err := h.s.deps.Photos.AddPhoto(ctx, u, id, form.files[0])
	if err != nil {
		return err
	}
	c.Location("/api/v1/auctions/" + strconv.FormatInt(id, 10) + "/photos")
	return writeJSON(c, fiber.StatusCreated, p.View())
}

// handlePhotoList lists an auction's photos, cover first.
func (h *photoAPI) handlePhotoList(c *fiber.Ctx) error {
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	if _, err := h.s.deps.Reader.Auction(c.UserContext(), id); err != nil {
		return err
	}
	ps, err := h.s.deps.Photos.Photos(c.UserContext(), id)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, photoList{Photos: photoViews(ps)})
}

// handlePhotoDelete deletes one photo: 204.
func (h *photoAPI) handlePhotoDelete(c *fiber.Ctx) error {
	u, err := h.s.requireActor(c)
	if err != nil {
		return err
	}
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	photoID, ok := parseID(c.Params("photo"))
	if !ok {
		return domain.ErrPhotoNotFound
	}
	if err := h.s.deps.Photos.DeletePhoto(c.UserContext(), u, id, photoID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// orderBody is the new order of an auction's photos, cover first.
type orderBody struct {
	Order []int64 `json:"order"`
}

// handlePhotoOrder reorders the photos: 200 with the new list.
func (h *photoAPI) handlePhotoOrder(c *fiber.Ctx) error {
	u, err := h.s.requireActor(c)
	if err != nil {
		return err
	}
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	if err := h.s.sellerOnly(c, u, id); err != nil {
		return err
	}
	var b orderBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if len(b.Order) == 0 || len(b.Order) > domain.MaxPhotosPerAuction {
		return domain.Invalid("order", `"order" must list the auction's photo ids, cover first (at most 12).`)
	}
	ps, err := h.s.deps.Photos.ReorderPhotos(c.UserContext(), u, id, b.Order)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, photoList{Photos: photoViews(ps)})
}

// handleMedia serves a photo file by its content address, cacheable for
// good, with the hash as its ETag.
func (h *photoAPI) handleMedia(c *fiber.Ctx) error {
	name := c.Params("name")
	data, err := h.s.deps.Photos.File(c.UserContext(), name)
	if err != nil {
		return err
	}
	etag := `"` + strings.TrimSuffix(name, ".jpg") + `"`
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderCacheControl, mediaCacheControl)
	if inm := c.Get(fiber.HeaderIfNoneMatch); inm == "*" || strings.Contains(inm, etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, "image/jpeg")
	return c.Status(fiber.StatusOK).Send(data)
}

// auctionJSON is an auction resource with its photos, cover first.
type auctionJSON struct {
	domain.AuctionView
	Photos []domain.PhotoView `json:"photos"`
}

// auctionItem is an auction in a list, with its cover photo if it has one.
type auctionItem struct {
	domain.AuctionView
	Cover *domain.PhotoView `json:"cover,omitempty"`
}

// auctionResource is the JSON of one auction: its view and, when the
// server has Photos, its photos.
func (s *Server) auctionResource(c *fiber.Ctx, a domain.Auction, viewer domain.User) (any, error) {
	ctx := c.UserContext()
	v, err := s.viewOf(c, a, viewer)
	if err != nil {
		return nil, err
	}
	if s.deps.Photos == nil {
		return v, nil
	}
	ps, err := s.deps.Photos.Photos(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	return auctionJSON{AuctionView: v, Photos: photoViews(ps)}, nil
}

// coverViews returns the cover of each auction that has one, keyed by
// auction id; nothing when the server has no Photos.
func (s *Server) coverViews(ctx context.Context, ids []int64) (map[int64]*domain.PhotoView, error) {
	out := map[int64]*domain.PhotoView{}
	if s.deps.Photos == nil || len(ids) == 0 {
		return out, nil
	}
	covers, err := s.deps.Photos.Covers(ctx, ids)
	if err != nil {
		return nil, err
	}
	for id, p := range covers {
		v := p.View()
		out[id] = &v
	}
	return out, nil
}

// auctionItems is a list of auctions with their covers.
func (s *Server) auctionItems(ctx context.Context, views []domain.AuctionView) ([]auctionItem, error) {
	ids := make([]int64, len(views))
	for i, v := range views {
		ids[i] = v.ID
	}
	covers, err := s.coverViews(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]auctionItem, len(views))
	for i, v := range views {
		out[i] = auctionItem{AuctionView: v, Cover: covers[v.ID]}
	}
	return out, nil
}

// photoWork bounds what an upload does once its body has arrived: the
// wait for a decode slot (the media service's own bound, 30 s by
// default), the processing, and the storage calls, each of which the
// media service bounds by the dependency timeout on its own.
const photoWork = time.Minute

// photoContext is the context an upload is processed under. The request's
// dependency bound (5 s) started when the request did, and reading 50
// photos at once can use it up before the first is processed: the wait
// for a decode slot then ended at 5 s instead of 30, and a photo that got
// one was processed and then refused as "storage not answering" because
// no time was left to store it (seen in `gavel bench photos`).
func (s *Server) photoContext(c *fiber.Ctx) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(c.UserContext()), photoWork)
}
