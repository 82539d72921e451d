package web

import (
	"context"

	"github.com/gavel-auctions/gavel/domain"
)

// Photos stores, lists and serves auction photos (package media). It is an
// optional dependency: with Deps.Photos nil no photo route is registered
// and pages show no photos.
type Photos interface {
	// AddPhoto checks, re-encodes and stores one uploaded file as the last
	// photo of the auction. A refused file is a *domain.Error naming the
	// problem (invalid, too_large, unsupported_media_type); a saturated
	// decoder or a store that does not answer is unavailable.
	AddPhoto(ctx context.Context, actor domain.User, auctionID int64, upload []byte) (domain.Photo, error)
	DeletePhoto(ctx context.Context, actor domain.User, auctionID, photoID int64) error
	// ReorderPhotos puts the photos in the order of ids (each once); the
	// first is the cover.
	ReorderPhotos(ctx context.Context, actor domain.User, auctionID int64, ids []int64) ([]domain.Photo, error)
	// Photos lists an auction's photos, cover first.
	Photos(ctx context.Context, auctionID int64) ([]domain.Photo, error)
	// Covers returns the cover of each of the auctions that has one.
	Covers(ctx context.Context, auctionIDs []int64) (map[int64]domain.Photo, error)
	// File returns a stored file by name ("<sha256>.jpg"); an unknown
	// name is not_found. The bytes are shared: never modify them.
	File(ctx context.Context, name string) ([]byte, error)
}
