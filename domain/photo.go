package domain

import "time"

// Photo limits and names.
const (
	// MaxPhotosPerAuction is how many photos one lot may have.
	MaxPhotosPerAuction = 12
	// MediaPathPrefix is where photo files are served; a file's name is the
	// SHA-256 of its bytes, so its URL never changes meaning.
	MediaPathPrefix = "/media/"
)

// Codes for refused uploads. They describe the request rather than a
// business rule; the web layer maps them to 413 and 415 like its own
// transport failures.
const (
	CodeTooLarge    Code = "too_large"              // 413: a body or file over its limit
	CodeUnsupported Code = "unsupported_media_type" // 415: a type that is not accepted
)

// Photo is one photo of an auction: three sizes of the same re-encoded
// image, each stored under the SHA-256 of its bytes. Ordinal 0 is the cover.
type Photo struct {
	ID        int64
	AuctionID int64
	Ordinal   int
	Thumb     string // file names, e.g. "<sha256>.jpg"
	Medium    string
	Large     string
	Width     int // of Large
	Height    int
	CreatedAt time.Time
}

// PhotoURLs are the served URLs of a photo's three sizes.
type PhotoURLs struct {
	Thumb  string `json:"thumb"`
	Medium string `json:"medium"`
	Large  string `json:"large"`
}

// PhotoView is a photo as the API and pages show it.
type PhotoView struct {
	ID     int64     `json:"id"`
	URLs   PhotoURLs `json:"urls"`
	Width  int       `json:"width"`
	Height int       `json:"height"`
}

// View returns the photo's public form.
func (p Photo) View() PhotoView {
	return PhotoView{
		ID: p.ID,
		URLs: PhotoURLs{
			Thumb:  MediaPathPrefix + p.Thumb,
			Medium: MediaPathPrefix + p.Medium,
			Large:  MediaPathPrefix + p.Large,
		},
		Width:  p.Width,
		Height: p.Height,
	}
}

// Refusals of photo changes.
var (
	ErrPhotoNotFound = &Error{Code: CodeNotFound, Message: "No such photo on this auction."}
	ErrPhotosFull    = &Error{Code: CodeConflict, Message: "This lot already has 12 photos, the most it can have. Delete one to add another."}
	ErrPhotosLocked  = &Error{Code: CodeConflict, Message: "This auction already has bids, so its photos can no longer be removed or reordered; you can still add photos."}
	ErrPhotosEnded   = &Error{Code: CodeGone, Message: "This auction has ended, so its photos can no longer be changed."}
	ErrPhotoSeller   = &Error{Code: CodeForbidden, Message: "Only the seller may change this auction's photos."}
)

// CanAddPhoto reports whether actor may add a photo to a, which has count
// photos: the seller may, until the auction ends, even after bids (more
// photos only tell bidders more).
func CanAddPhoto(a Auction, actor User, count int) error {
	switch {
	case actor.ID == 0 || actor.ID != a.SellerID:
		return ErrPhotoSeller
	case a.Status == StatusClosed || a.Status == StatusCancelled:
		return ErrPhotosEnded
	case count >= MaxPhotosPerAuction:
		return ErrPhotosFull
	}
	return nil
}

// CanChangePhotos reports whether actor may delete or reorder a's photos
// (choosing the cover is reordering): the seller may until the first bid,
// since a bidder bid on the lot as it was shown.
func CanChangePhotos(a Auction, actor User) error {
	switch {
	case actor.ID == 0 || actor.ID != a.SellerID:
		return ErrPhotoSeller
	case a.Status == StatusClosed || a.Status == StatusCancelled:
		return ErrPhotosEnded
	case a.BidCount > 0:
		return ErrPhotosLocked
	}
	return nil
}
