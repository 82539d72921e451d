// Package media owns the photos of auctions: it checks and re-encodes
// uploads (never trusting their bytes), keeps the files in the JetStream
// Object Store of the NATS that Gavel already runs, records each auction's
// photos in the database, and serves the files through a bounded local
// cache. It imports domain only, and reads three columns of the auctions
// table under a row lock so that a photo change and a first bid cannot
// cross.
package media

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"runtime"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/singleflight"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// Options tune a Service. Zero values take the defaults beside them.
type Options struct {
	Replicas     int           // copies of the bucket (GAVEL_NATS_REPLICAS); default 1
	CacheBytes   int64         // local cache of served files; default 64 MiB
	CacheTTL     time.Duration // how long a node serves a file before re-reading it; default 10 min
	DecodeSlots  int           // decodes at once; default GOMAXPROCS
	DecodeBudget int64         // estimated bytes all running decodes may hold; default 256 MiB
	QueueLength  int           // uploads that may wait for a decode; default 64
	QueueWait    time.Duration // how long one may wait; default 30 s
	StoreTimeout time.Duration // bound on one object store call; default 10 s
	Now          func() time.Time
	Logger       *slog.Logger
}

// Defaults of Options.
const (
	DefaultCacheBytes   = 64 << 20
	DefaultCacheTTL     = 10 * time.Minute
	DefaultDecodeBudget = 256 << 20
	DefaultQueueLength  = 64
	DefaultQueueWait    = 30 * time.Second
	DefaultStoreTimeout = 10 * time.Second
	// missTTL is how long a node remembers that a name is not stored.
	missTTL = 10 * time.Second
)

func (o Options) withDefaults() Options {
	if o.Replicas < 1 {
		o.Replicas = 1
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = DefaultCacheTTL
	}
	if o.DecodeSlots <= 0 {
		o.DecodeSlots = runtime.GOMAXPROCS(0)
	}
	if o.DecodeBudget <= 0 {
		o.DecodeBudget = DefaultDecodeBudget
	}
	if o.QueueLength <= 0 {
		o.QueueLength = DefaultQueueLength
	}
	if o.QueueWait <= 0 {
		o.QueueWait = DefaultQueueWait
	}
	if o.StoreTimeout <= 0 {
		o.StoreTimeout = DefaultStoreTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Service stores, lists and serves auction photos.
type Service struct {
	db     *gorm.DB
	pg     bool
	blobs  *blobs
	cache  *cache
	adm    *admission
	flight singleflight.Group
	opts   Options
	log    *slog.Logger
}

// New opens the photo bucket (creating it on first use) and returns the
// service. db must be migrated (migrations 00006).
func New(ctx context.Context, db *gorm.DB, js jetstream.JetStream, o Options) (*Service, error) {
	o = o.withDefaults()
	b, err := openBlobs(ctx, js, o.Replicas, o.StoreTimeout)
	if err != nil {
		return nil, err
	}
	return &Service{
		db:    db,
		pg:    db.Dialector.Name() == "postgres",
		blobs: b,
		cache: newCache(o.CacheBytes, o.CacheTTL, missTTL, o.Now),
		adm:   newAdmission(o.DecodeSlots, o.DecodeBudget, o.QueueLength, o.QueueWait),
		opts:  o,
		log:   o.Logger,
	}, nil
}

// Process checks an upload and re-encodes it into the three sizes. It
// waits for a decode slot (bounded; then a 503 error) and returns a
// *domain.Error naming the problem for any file it refuses.
func (s *Service) Process(ctx context.Context, upload []byte) (Processed, error) {
	h, err := inspect(upload)
	if err != nil {
		return Processed{}, err
	}
	release, err := s.adm.acquire(ctx, h.cost)
	if err != nil {
		return Processed{}, err
	}
	defer release()
	return process(h, upload)
}

// Process is Service.Process without the admission control: for tools and
// benchmarks that bound their own concurrency. A server must not call it
// per request.
func Process(upload []byte) (Processed, error) {
	h, err := inspect(upload)
	if err != nil {
		return Processed{}, err
	}
	return process(h, upload)
}

func process(h header, upload []byte) (Processed, error) {
	img, err := decode(h, upload)
	if err != nil {
		return Processed{}, err
	}
	return render(img, h.orientation)
}

// AddPhoto checks, re-encodes and stores an upload as the last photo of
// an auction of actor's.
func (s *Service) AddPhoto(ctx context.Context, actor domain.User, auctionID int64, upload []byte) (domain.Photo, error) {
	// Refuse what the rules refuse before spending a decode on it; the
	// transaction checks again under the lock.
	a, n, err := s.photoState(ctx, auctionID)
	if err != nil {
		return domain.Photo{}, err
	}
	if err := domain.CanAddPhoto(a, actor, n); err != nil {
		return domain.Photo{}, err
	}
	p, err := s.Process(ctx, upload)
	if err != nil {
		return domain.Photo{}, err
	}
	return s.AddProcessed(ctx, actor, auctionID, p)
}

// AddProcessed stores an already processed photo as the last of an
// auction's: the files first, then the row; a file left without a row by
// a failure in between is removed by the sweeper.
func (s *Service) AddProcessed(ctx context.Context, actor domain.User, auctionID int64, p Processed) (domain.Photo, error) {
	for _, v := range p.Variants {
		if err := s.blobs.put(ctx, v.Name, v.Data); err != nil {
			return domain.Photo{}, err
		}
	}
	large := p.Variants[Large]
	row := photoRow{
		AuctionID: auctionID,
		Thumb:     p.Variants[Thumb].Name, Medium: p.Variants[Medium].Name, Large: large.Name,
		Width: large.Width, Height: large.Height, UploadedBy: actor.ID,
		CreatedAt: s.opts.Now().UTC().Truncate(time.Microsecond),
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		a, err := s.lockAuction(tx, auctionID)
		if err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&photoRow{}).Where("auction_id = ?", auctionID).Count(&n).Error; err != nil {
			return err
		}
		if err := domain.CanAddPhoto(a, actor, int(n)); err != nil {
			return err
		}
		row.Ordinal = int(n)
		return tx.Create(&row).Error
	})
	if err != nil {
		return domain.Photo{}, err
	}
	// A concurrent delete of an identical photo elsewhere may have removed
	// a file this upload found already stored; put back what is missing.
	for _, v := range p.Variants {
		if ok, err := s.blobs.exists(ctx, v.Name); err == nil && !ok {
			if err := s.blobs.put(ctx, v.Name, v.Data); err != nil {
				s.log.Warn("media: re-storing a photo file", "name", v.Name, "err", err)
			}
		}
	}
	return row.toDomain(), nil
}

// DeletePhoto removes one photo; only the seller, before the first bid.
func (s *Service) DeletePhoto(ctx context.Context, actor domain.User, auctionID, photoID int64) error {
	var gone photoRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		a, err := s.lockAuction(tx, auctionID)
		if err != nil {
			return err
		}
		if err := domain.CanChangePhotos(a, actor); err != nil {
			return err
		}
		if err := tx.Where("id = ? AND auction_id = ?", photoID, auctionID).Take(&gone).Error; err != nil {
			return notFound(err, domain.ErrPhotoNotFound)
		}
		if err := tx.Delete(&photoRow{}, gone.ID).Error; err != nil {
			return err
		}
		// Keep ordinals dense, so the cover is always ordinal 0.
		return tx.Model(&photoRow{}).Where("auction_id = ? AND ordinal > ?", auctionID, gone.Ordinal).
			Update("ordinal", gorm.Expr("ordinal - 1")).Error
	})
	if err != nil {
		return err
	}
	s.release(ctx, gone.Thumb, gone.Medium, gone.Large)
	return nil
}

// ReorderPhotos puts an auction's photos in the order of ids, which must
// name each of them once; the first becomes the cover.
func (s *Service) ReorderPhotos(ctx context.Context, actor domain.User, auctionID int64, ids []int64) ([]domain.Photo, error) {
	var out []domain.Photo
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		a, err := s.lockAuction(tx, auctionID)
		if err != nil {
			return err
		}
		if err := domain.CanChangePhotos(a, actor); err != nil {
			return err
		}
		rows, err := listPhotos(tx, auctionID)
		if err != nil {
			return err
		}
		if err := samePhotos(rows, ids); err != nil {
			return err
		}
		byID := make(map[int64]*photoRow, len(rows))
		for i := range rows {
			byID[rows[i].ID] = &rows[i]
		}
		out = make([]domain.Photo, 0, len(ids))
		for i, id := range ids {
			r := byID[id]
			if r.Ordinal != i {
				if err := tx.Model(&photoRow{}).Where("id = ?", id).Update("ordinal", i).Error; err != nil {
					return err
				}
				r.Ordinal = i
			}
			out = append(out, r.toDomain())
		}
		return nil
	})
	return out, err
}

// samePhotos checks that ids names every row once and nothing else.
func samePhotos(rows []photoRow, ids []int64) error {
	want := make(map[int64]bool, len(rows))
	for _, r := range rows {
		want[r.ID] = true
	}
	seen := make(map[int64]bool, len(ids))
	for _, id := range ids {
		if !want[id] {
			return domain.Invalid("order", fmt.Sprintf("Photo %d is not a photo of this auction.", id))
		}
		if seen[id] {
			return domain.Invalid("order", fmt.Sprintf("Photo %d is listed twice.", id))
		}
		seen[id] = true
	}
	if len(ids) != len(rows) {
		return domain.Invalid("order", fmt.Sprintf("List all %d photos of the auction, in the new order.", len(rows)))
	}
	return nil
}

// Photos lists an auction's photos, cover first.
func (s *Service) Photos(ctx context.Context, auctionID int64) ([]domain.Photo, error) {
	rows, err := listPhotos(s.db.WithContext(ctx), auctionID)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Photo, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// Covers returns the cover photo of each of the auctions that has one.
func (s *Service) Covers(ctx context.Context, auctionIDs []int64) (map[int64]domain.Photo, error) {
	out := make(map[int64]domain.Photo, len(auctionIDs))
	if len(auctionIDs) == 0 {
		return out, nil
	}
	var rows []photoRow
	if err := s.db.WithContext(ctx).Where("auction_id IN ? AND ordinal = 0", auctionIDs).Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.AuctionID] = r.toDomain()
	}
	return out, nil
}

// namePattern is a stored file's name: a SHA-256 in lowercase hex.
var namePattern = regexp.MustCompile(`^[0-9a-f]{64}\.jpg$`)

// ValidName reports whether name could be a stored file's name.
func ValidName(name string) bool { return namePattern.MatchString(name) }

// File returns a stored file's bytes, from this node's cache when it can.
// An unknown name is domain.ErrNotFound; a store that does not answer is a
// 503-class error.
func (s *Service) File(ctx context.Context, name string) ([]byte, error) {
	if !ValidName(name) {
		return nil, domain.ErrNotFound
	}
	if data, missing, ok := s.cache.get(name); ok {
		if missing {
			return nil, domain.ErrNotFound
		}
		return data, nil
	}
	// One store read per name however many requests ask at once. The read
	// runs on its own context: a client that leaves must not fail the
	// others waiting on the same read.
	v, err, _ := s.flight.Do(name, func() (any, error) {
		data, err := s.blobs.get(context.WithoutCancel(ctx), name)
		switch {
		case err == nil:
			s.cache.put(name, data)
		case err == domain.ErrNotFound:
			s.cache.put(name, nil)
		}
		return data, err
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

// CacheStats reports the local cache's entries and bytes.
func (s *Service) CacheStats() (entries int, bytes int64) { return s.cache.stats() }
