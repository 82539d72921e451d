package bidding

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// hostileText is text PostgreSQL refuses (SQLSTATE 22021, 08P01) and
// SQLite would silently store, or that displays as something else.
var hostileText = []string{"a\x00b", "a\xffb", "\xc3", "a\u202Eb", "a\x1bb"}

// Both databases answer hostile text the same way: a 4xx-class domain
// error before anything reaches them, never an internal error on
// PostgreSQL and a stored NUL on SQLite.
func TestHostileTextBothDatabases(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := mustService(t, db, newClock(t0))
		seller := mustUser(t, s, false)
		admin := mustUser(t, s, true)
		a := mustAuction(t, s, seller, nil)
		wantCode := func(what string, err error, code domain.Code) {
			t.Helper()
			if got := domain.ErrorCode(err); got != code {
				t.Errorf("%s: %v (code %s), want %s", what, err, got, code)
			}
		}
		for _, bad := range hostileText {
			_, err := s.Register(ctx, "x@example.com", "longenough", "Name "+bad)
			wantCode("name "+bad, err, domain.CodeInvalid)
			_, err = s.Register(ctx, "x"+bad+"@example.com", "longenough", "Name")
			wantCode("email "+bad, err, domain.CodeInvalid)
			_, err = s.Authenticate(ctx, "x"+bad+"@example.com", "longenough")
			wantCode("login email "+bad, err, domain.CodeUnauthorized)
			_, err = s.UserByEmail(ctx, "x"+bad+"@example.com")
			wantCode("lookup email "+bad, err, domain.CodeNotFound)
			in := domain.AuctionInput{Title: "Lamp " + bad, Currency: "EUR", StartPrice: 100, EndsAt: t0.Add(time.Hour)}
			_, err = s.CreateAuction(ctx, seller, in)
			wantCode("title "+bad, err, domain.CodeInvalid)
			in = domain.AuctionInput{Title: "Lamp", Description: "It " + bad, Currency: "EUR", StartPrice: 100, EndsAt: t0.Add(time.Hour)}
			_, err = s.CreateAuction(ctx, seller, in)
			wantCode("description "+bad, err, domain.CodeInvalid)
			_, err = s.Auctions(ctx, domain.AuctionFilter{Query: "lamp" + bad})
			wantCode("search "+bad, err, domain.CodeInvalid)
			_, err = s.CancelAuction(ctx, admin, a.ID, "because "+bad)
			wantCode("reason "+bad, err, domain.CodeInvalid)
			err = s.SuspendUser(ctx, admin, seller.ID, "because "+bad)
			wantCode("suspension reason "+bad, err, domain.CodeInvalid)
		}
		// Nothing hostile was stored.
		var n int64
		if err := db.Table("auctions").Where("title <> ?", "Lamp").Count(&n).Error; err != nil || n != 0 {
			t.Errorf("%d auctions with other titles stored (err %v)", n, err)
		}
	})
}

// Every password check and hash waits its turn at the gate, an empty
// password included; past the gate's wait the answer is "busy".
func TestHashGateBoundsPasswordWork(t *testing.T) {
	t.Parallel()
	db := mustSQLite(t)
	c := newClock(t0)
	s := New(db, Options{Now: c.now, PasswordCost: bcrypt.MinCost, HashConcurrency: 1, HashWait: 50 * time.Millisecond})
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	ctx := context.Background()
	u := mustUser(t, s, false)

	s.hash.slots <- struct{}{} // the one slot is taken
	for _, pw := range []string{"", "wrong password", "correct horse"} {
		if _, err := s.Authenticate(ctx, u.Email, pw); !errors.Is(err, errHashBusy) {
			t.Errorf("Authenticate(%q) with the gate full = %v, want busy", pw, err)
		}
	}
	if _, err := s.Authenticate(ctx, "nobody@example.com", ""); !errors.Is(err, errHashBusy) {
		t.Errorf("unknown email with the gate full = %v, want busy", err)
	}
	if _, err := s.Register(ctx, "new@example.com", "longenough", "New"); !errors.Is(err, errHashBusy) {
		t.Errorf("Register with the gate full = %v, want busy", err)
	}
	if domain.ErrorCode(errHashBusy) != domain.CodeUnavailable {
		t.Errorf("busy is %s, want unavailable (503)", domain.ErrorCode(errHashBusy))
	}
	<-s.hash.slots
	if _, err := s.Authenticate(ctx, u.Email, ""); !errors.Is(err, domain.ErrBadCredentials) {
		t.Errorf("empty password = %v, want bad credentials", err)
	}
	if _, err := s.Authenticate(ctx, u.Email, "correct horse"); err != nil {
		t.Errorf("right password = %v", err)
	}
}

func TestHashGateConcurrency(t *testing.T) {
	t.Parallel()
	g := newHashGate(2, time.Minute)
	var inFlight, peak atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := g.run(context.Background(), func() {
				n := inFlight.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(5 * time.Millisecond)
				inFlight.Add(-1)
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrency %d, want 2", p)
	}
	// A cancelled caller leaves instead of waiting.
	g.slots <- struct{}{}
	g.slots <- struct{}{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.run(ctx, func() {}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait = %v", err)
	}
}
