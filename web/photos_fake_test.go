package web

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// fakePhotos is an in-memory Photos over the fakeStore's auctions. It
// applies the domain's photo rules; the checks of the files themselves
// belong to package media, so it accepts anything that starts like a
// JPEG and can be told to fail.
type fakePhotos struct {
	store *fakeStore

	mu      sync.Mutex
	photos  map[int64][]domain.Photo // by auction, in order
	files   map[string][]byte
	uploads [][]byte // every upload received, as received
	nextID  int64
	addErr  error // returned by AddPhoto when set
	// left is, per upload, the time its context had left when it reached
	// the service.
	left []time.Duration
}

var _ Photos = (*fakePhotos)(nil)

func newFakePhotos(store *fakeStore) *fakePhotos {
	return &fakePhotos{store: store, photos: map[int64][]domain.Photo{}, files: map[string][]byte{}}
}

func (f *fakePhotos) auction(id int64) (domain.Auction, error) {
	return f.store.Auction(context.Background(), id)
}

func (f *fakePhotos) AddPhoto(ctx context.Context, actor domain.User, auctionID int64, upload []byte) (domain.Photo, error) {
	if d, ok := ctx.Deadline(); ok {
		f.mu.Lock()
		f.left = append(f.left, time.Until(d))
		f.mu.Unlock()
	}
	a, err := f.auction(auctionID)
	if err != nil {
		return domain.Photo{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.uploads = append(f.uploads, bytes.Clone(upload))
	if err := domain.CanAddPhoto(a, actor, len(f.photos[auctionID])); err != nil {
		return domain.Photo{}, err
	}
	if f.addErr != nil {
		return domain.Photo{}, f.addErr
	}
	if !bytes.HasPrefix(upload, []byte{0xFF, 0xD8, 0xFF}) {
		return domain.Photo{}, &domain.Error{Code: domain.CodeUnsupported, Message: "Not a photo.", Fields: map[string]string{"photo": "Not a photo."}}
	}
	f.nextID++
	name := func(size string) string { return fmt.Sprintf("%064x.jpg", f.nextID*10+int64(len(size))) }
	p := domain.Photo{ID: f.nextID, AuctionID: auctionID, Ordinal: len(f.photos[auctionID]),
		Thumb: name("t"), Medium: name("mm"), Large: name("lll"), Width: 1920, Height: 1440}
	for _, n := range []string{p.Thumb, p.Medium, p.Large} {
		f.files[n] = append([]byte{0xFF, 0xD8, 0xFF}, n...)
	}
	f.photos[auctionID] = append(f.photos[auctionID], p)
	return p, nil
}

func (f *fakePhotos) DeletePhoto(_ context.Context, actor domain.User, auctionID, photoID int64) error {
	a, err := f.auction(auctionID)
	if err != nil {
		return err
	}
	if err := domain.CanChangePhotos(a, actor); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ps := f.photos[auctionID]
	for i, p := range ps {
		if p.ID == photoID {
			f.photos[auctionID] = append(ps[:i:i], ps[i+1:]...)
			for j := range f.photos[auctionID] {
				f.photos[auctionID][j].Ordinal = j
			}
			return nil
		}
	}
	return domain.ErrPhotoNotFound
}

func (f *fakePhotos) ReorderPhotos(_ context.Context, actor domain.User, auctionID int64, ids []int64) ([]domain.Photo, error) {
	a, err := f.auction(auctionID)
	if err != nil {
		return nil, err
	}
	if err := domain.CanChangePhotos(a, actor); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ps := f.photos[auctionID]
	if len(ids) != len(ps) {
		return nil, domain.Invalid("order", "List every photo once.")
	}
	out := make([]domain.Photo, 0, len(ids))
	for i, id := range ids {
		found := false
		for _, p := range ps {
			if p.ID == id {
				p.Ordinal = i
				out = append(out, p)
				found = true
			}
		}
		if !found {
			return nil, domain.Invalid("order", "Not a photo of this auction.")
		}
	}
	f.photos[auctionID] = out
	return out, nil
}

func (f *fakePhotos) Photos(_ context.Context, auctionID int64) ([]domain.Photo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]domain.Photo(nil), f.photos[auctionID]...), nil
}

func (f *fakePhotos) Covers(_ context.Context, ids []int64) (map[int64]domain.Photo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int64]domain.Photo{}
	for _, id := range ids {
		if ps := f.photos[id]; len(ps) > 0 {
			out[id] = ps[0]
		}
	}
	return out, nil
}

func (f *fakePhotos) File(_ context.Context, name string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b, ok := f.files[name]; ok {
		return b, nil
	}
	return nil, domain.ErrNotFound
}
