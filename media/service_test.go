package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/database"
	"github.com/gavel-auctions/gavel/internal/natsserver"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// env is one test's real parts: a migrated database, an embedded NATS
// server with JetStream, the bidding service for users, auctions and bids,
// and the photo service under test.
type env struct {
	db  *gorm.DB
	ns  *server.Server
	js  jetstream.JetStream
	bid *bidding.Service
	svc *Service
}

// dialects runs fn against PostgreSQL and against SQLite.
func dialects(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	t.Run("postgres", func(t *testing.T) { fn(t, newEnv(t, testpg.DB(t))) })
	t.Run("sqlite", func(t *testing.T) { fn(t, newEnv(t, mustSQLite(t))) })
}

func mustSQLite(tb testing.TB) *gorm.DB {
	tb.Helper()
	db, d, err := database.Open(context.Background(), "", tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	if err := database.Migrate(context.Background(), db, d); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = database.Close(db) })
	return db
}

func newEnv(tb testing.TB, db *gorm.DB) *env {
	tb.Helper()
	ns, err := natsserver.Start(natsserver.Options{StoreDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(ns.Shutdown)
	nc, err := natsserver.Connect("", ns, "media-test", nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{db: db, ns: ns, js: js, bid: bidding.New(db, bidding.Options{PasswordCost: bcrypt.MinCost})}
	tb.Cleanup(func() { _ = e.bid.Close(context.Background()) })
	e.svc = e.service(tb, Options{StoreTimeout: 2 * time.Second})
	return e
}

// service starts another photo service on the same database and NATS, as
// a second API node would.
func (e *env) service(tb testing.TB, o Options) *Service {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := New(ctx, e.db, e.js, o)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

var userSeq atomic.Int64

func (e *env) user(tb testing.TB) domain.User {
	tb.Helper()
	n := userSeq.Add(1)
	u, err := e.bid.CreateUser(context.Background(), fmt.Sprintf("media%d@example.com", n), "correct horse", fmt.Sprintf("User %d", n), false)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func (e *env) auction(tb testing.TB, seller domain.User) domain.Auction {
	tb.Helper()
	a, err := e.bid.CreateAuction(context.Background(), seller, domain.AuctionInput{
		Title: "Lamp", Currency: "EUR", StartPrice: 1000, EndsAt: time.Now().Add(time.Hour),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// photo is a distinct small JPEG per seed, so its files are distinct.
func photo(tb testing.TB, seed int) []byte {
	tb.Helper()
	img := quadrants(240, 180)
	// A 32×32 block whose colour encodes the seed: a different picture,
	// so different files after the re-encode.
	for y := range 32 {
		for x := range 32 {
			o := img.PixOffset(x+8, y+8)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2] = byte(seed*37), byte(seed*11), byte(seed>>8*53)
		}
	}
	return mustJPEG(tb, img, 90)
}

func mustAdd(tb testing.TB, e *env, seller domain.User, auctionID int64, seed int) domain.Photo {
	tb.Helper()
	p, err := e.svc.AddPhoto(context.Background(), seller, auctionID, photo(tb, seed))
	if err != nil {
		tb.Fatalf("add photo %d: %v", seed, err)
	}
	return p
}

func ids(ps []domain.Photo) []int64 {
	out := make([]int64, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func wantCode(tb testing.TB, err error, want *domain.Error) {
	tb.Helper()
	if !errors.Is(err, want) {
		tb.Fatalf("err = %v, want %v", err, want)
	}
}

func TestPhotoLifecycle(t *testing.T) {
	dialects(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		seller := e.user(t)
		a := e.auction(t, seller)
		p1 := mustAdd(t, e, seller, a.ID, 1)
		p2 := mustAdd(t, e, seller, a.ID, 2)
		p3 := mustAdd(t, e, seller, a.ID, 3)
		got, err := e.svc.Photos(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids(got)) != fmt.Sprint([]int64{p1.ID, p2.ID, p3.ID}) {
			t.Fatalf("photos %v, want upload order", ids(got))
		}
		// Every size is served, from the store, as it was encoded.
		for _, name := range []string{p1.Thumb, p1.Medium, p1.Large} {
			data, err := e.svc.File(ctx, name)
			if err != nil {
				t.Fatalf("file %s: %v", name, err)
			}
			if _, _, err := image.DecodeConfig(bytes.NewReader(data)); err != nil {
				t.Fatalf("file %s is not an image: %v", name, err)
			}
		}

		// Reorder: p3 becomes the cover.
		if _, err := e.svc.ReorderPhotos(ctx, seller, a.ID, []int64{p3.ID, p1.ID, p2.ID}); err != nil {
			t.Fatal(err)
		}
		covers, err := e.svc.Covers(ctx, []int64{a.ID, a.ID + 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(covers) != 1 || covers[a.ID].ID != p3.ID {
			t.Fatalf("covers %+v, want p3 for auction %d only", covers, a.ID)
		}
		for _, bad := range [][]int64{{p3.ID, p1.ID}, {p3.ID, p1.ID, p1.ID}, {p3.ID, p1.ID, p2.ID + 1000}} {
			if _, err := e.svc.ReorderPhotos(ctx, seller, a.ID, bad); domain.ErrorCode(err) != domain.CodeInvalid {
				t.Errorf("reorder %v: %v, want invalid", bad, err)
			}
		}

		// Delete the cover: the next one takes its place, its files go.
		if err := e.svc.DeletePhoto(ctx, seller, a.ID, p3.ID); err != nil {
			t.Fatal(err)
		}
		got, _ = e.svc.Photos(ctx, a.ID)
		if fmt.Sprint(ids(got)) != fmt.Sprint([]int64{p1.ID, p2.ID}) || got[0].Ordinal != 0 || got[1].Ordinal != 1 {
			t.Fatalf("after delete: %+v", got)
		}
		if _, err := e.svc.File(ctx, p3.Large); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("deleted photo's file: %v, want not found", err)
		}
		wantCode(t, e.svc.DeletePhoto(ctx, seller, a.ID, p3.ID), domain.ErrPhotoNotFound)
		// A photo of another auction is not this auction's.
		other := e.auction(t, seller)
		wantCode(t, e.svc.DeletePhoto(ctx, seller, other.ID, p1.ID), domain.ErrPhotoNotFound)
	})
}

func TestPhotoRules(t *testing.T) {
	dialects(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		seller, bidder := e.user(t), e.user(t)
		a := e.auction(t, seller)
		p1 := mustAdd(t, e, seller, a.ID, 10)

		_, err := e.svc.AddPhoto(ctx, bidder, a.ID, photo(t, 11))
		wantCode(t, err, domain.ErrPhotoSeller)
		wantCode(t, e.svc.DeletePhoto(ctx, bidder, a.ID, p1.ID), domain.ErrPhotoSeller)
		_, err = e.svc.AddPhoto(ctx, seller, a.ID+1000, photo(t, 11))
		wantCode(t, err, domain.ErrAuctionNotFound)

		// After the first bid: only adding.
		if _, err := e.bid.PlaceBid(ctx, bidder, a.ID, domain.BidInput{Amount: 1000}); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.svc.DeletePhoto(ctx, seller, a.ID, p1.ID), domain.ErrPhotosLocked)
		p2 := mustAdd(t, e, seller, a.ID, 12)
		_, err = e.svc.ReorderPhotos(ctx, seller, a.ID, []int64{p2.ID, p1.ID})
		wantCode(t, err, domain.ErrPhotosLocked)

		// An ended auction: nothing.
		b := e.auction(t, seller)
		mustAdd(t, e, seller, b.ID, 13)
		if _, err := e.bid.CancelAuction(ctx, seller, b.ID, ""); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.AddPhoto(ctx, seller, b.ID, photo(t, 14))
		wantCode(t, err, domain.ErrPhotosEnded)

		// A bad file is refused before any row is written.
		c := e.auction(t, seller)
		_, err = e.svc.AddPhoto(ctx, seller, c.ID, []byte("PK\x03\x04 not a photo"))
		if domain.ErrorCode(err) != domain.CodeUnsupported {
			t.Fatalf("zip: %v", err)
		}
		if got, _ := e.svc.Photos(ctx, c.ID); len(got) != 0 {
			t.Fatalf("a refused upload left %d photos", len(got))
		}
	})
}

// TestTwelvePhotos: concurrent uploads never take a lot past 12 photos,
// and the ordinals stay 0..11.
func TestTwelvePhotos(t *testing.T) {
	dialects(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		seller := e.user(t)
		a := e.auction(t, seller)
		processed, err := e.svc.Process(ctx, photo(t, 20))
		if err != nil {
			t.Fatal(err)
		}
		var ok, full atomic.Int64
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.svc.AddProcessed(ctx, seller, a.ID, processed)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, domain.ErrPhotosFull):
					full.Add(1)
				default:
					t.Errorf("add: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != domain.MaxPhotosPerAuction || full.Load() != 20-domain.MaxPhotosPerAuction {
			t.Fatalf("%d added, %d refused as full; want 12 and 8", ok.Load(), full.Load())
		}
		got, _ := e.svc.Photos(ctx, a.ID)
		for i, p := range got {
			if p.Ordinal != i {
				t.Fatalf("photo %d has ordinal %d", i, p.Ordinal)
			}
		}
		_, err = e.svc.AddPhoto(ctx, seller, a.ID, photo(t, 21))
		wantCode(t, err, domain.ErrPhotosFull)
	})
}

// TestSharedFilesAndNodes: another node serves what this one stored; a file
// two lots share survives the deletion of one of them; the sweeper removes
// only files no photo uses.
func TestSharedFilesAndNodes(t *testing.T) {
	dialects(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		seller := e.user(t)
		a, b := e.auction(t, seller), e.auction(t, seller)
		pa := mustAdd(t, e, seller, a.ID, 30)
		pb := mustAdd(t, e, seller, b.ID, 30) // the same bytes
		if pa.Large != pb.Large {
			t.Fatalf("the same upload got different names: %s, %s", pa.Large, pb.Large)
		}
		node2 := e.service(t, Options{})
		if _, err := node2.File(ctx, pa.Thumb); err != nil {
			t.Fatalf("another node reading the file: %v", err)
		}
		if err := e.svc.DeletePhoto(ctx, seller, a.ID, pa.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.File(ctx, pb.Large); err != nil {
			t.Fatalf("the shared file after deleting one of its photos: %v", err)
		}

		// An orphan (stored, never recorded) goes once past the grace
		// period; a used file stays.
		orphan, err := e.svc.Process(ctx, photo(t, 31))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range orphan.Variants {
			if err := e.svc.blobs.put(ctx, v.Name, v.Data); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := e.svc.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("sweep within the grace period deleted %d (%v)", n, err)
		}
		later := e.service(t, Options{Now: func() time.Time { return time.Now().Add(2 * sweepGrace) }})
		n, err := later.Sweep(ctx)
		if err != nil || n != 3 {
			t.Fatalf("sweep deleted %d (%v), want the orphan's 3 files", n, err)
		}
		if _, err := later.File(ctx, orphan.Variants[Large].Name); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("orphan after sweep: %v", err)
		}
		if _, err := later.File(ctx, pb.Thumb); err != nil {
			t.Fatalf("used file after sweep: %v", err)
		}
	})
}

// TestStoreDown: with NATS gone, an uncached file is a 503-class error
// within the store timeout, and a cached one is still served.
func TestStoreDown(t *testing.T) {
	e := newEnv(t, mustSQLite(t))
	ctx := context.Background()
	seller := e.user(t)
	a := e.auction(t, seller)
	p := mustAdd(t, e, seller, a.ID, 40)
	if _, err := e.svc.File(ctx, p.Thumb); err != nil {
		t.Fatal(err)
	}
	e.ns.Shutdown()
	if _, err := e.svc.File(ctx, p.Thumb); err != nil {
		t.Fatalf("cached file with NATS down: %v", err)
	}
	start := time.Now()
	_, err := e.svc.File(ctx, p.Large)
	if domain.ErrorCode(err) != domain.CodeUnavailable {
		t.Fatalf("uncached file with NATS down: %v, want unavailable", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("took %v", d)
	}
	_, err = e.svc.AddPhoto(ctx, seller, a.ID, photo(t, 41))
	if domain.ErrorCode(err) != domain.CodeUnavailable {
		t.Fatalf("upload with NATS down: %v, want unavailable", err)
	}
	if got, _ := e.svc.Photos(ctx, a.ID); len(got) != 1 {
		t.Fatalf("a failed upload left a row: %d photos", len(got))
	}
}
