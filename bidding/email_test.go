package bidding

import (
	"context"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// TestVerificationGatesTrading: with RequireVerifiedEmail an unverified
// user may not bid or list, and may once verified; without it they may.
func TestVerificationGatesTrading(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		c := newClock(t0)
		s := New(db, Options{Now: c.now, PasswordCost: bcrypt.MinCost, RequireVerifiedEmail: true})
		t.Cleanup(func() { _ = s.Close(ctx) })
		seller := mustUser(t, s, false)
		if !seller.EmailVerified {
			t.Fatal("CreateUser made an unverified user")
		}
		a := mustAuction(t, s, seller, nil)
		u, err := s.Register(ctx, "new@example.com", "correct horse", "New")
		if err != nil {
			t.Fatal(err)
		}
		if u.EmailVerified || u.TimeZone != "UTC" {
			t.Fatalf("registered user %+v, want unverified in UTC", u)
		}
		if _, err := s.PlaceBid(ctx, u, a.ID, domain.BidInput{Amount: 1000}); err != domain.ErrNotVerified {
			t.Errorf("unverified bid: %v, want ErrNotVerified", err)
		}
		in := domain.AuctionInput{Title: "Vase", Currency: "EUR", StartPrice: 100, EndsAt: c.now().Add(time.Hour)}
		if _, err := s.CreateAuction(ctx, u, in); err != domain.ErrNotVerified {
			t.Errorf("unverified listing: %v, want ErrNotVerified", err)
		}
		if _, err := s.MarkEmailVerified(ctx, u.ID, "other@example.com"); domain.ErrorCode(err) != domain.CodeInvalid {
			t.Errorf("verifying another address: %v, want invalid", err)
		}
		v, err := s.MarkEmailVerified(ctx, u.ID, "NEW@example.com")
		if err != nil || !v.EmailVerified {
			t.Fatalf("verify: %+v %v", v, err)
		}
		mustBid(t, s, v, a.ID, 1000, 0)

		lax := New(db, Options{Now: c.now, PasswordCost: bcrypt.MinCost})
		t.Cleanup(func() { _ = lax.Close(ctx) })
		w, err := lax.Register(ctx, "lax@example.com", "correct horse", "Lax")
		if err != nil {
			t.Fatal(err)
		}
		mustBid(t, lax, w, a.ID, 1100, 0)
	})
}

// TestResetPasswordOnce: a reset signed for one AuthVersion works once.
func TestResetPasswordOnce(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := mustService(t, db, newClock(t0))
		u := mustUser(t, s, false)
		if _, err := s.ResetPassword(ctx, u.ID, u.AuthVersion, "short"); domain.ErrorCode(err) != domain.CodeInvalid {
			t.Errorf("short password: %v", err)
		}
		got, err := s.ResetPassword(ctx, u.ID, u.AuthVersion, "a new secret")
		if err != nil || got.AuthVersion != u.AuthVersion+1 {
			t.Fatalf("reset: %+v %v", got, err)
		}
		if _, err := s.ResetPassword(ctx, u.ID, u.AuthVersion, "another one"); err != domain.ErrTokenUsed {
			t.Errorf("second use: %v, want ErrTokenUsed", err)
		}
		if _, err := s.Authenticate(ctx, u.Email, "a new secret"); err != nil {
			t.Errorf("log in with the new password: %v", err)
		}
		if _, err := s.Authenticate(ctx, u.Email, "correct horse"); err == nil {
			t.Error("the old password still works")
		}
		if err := s.SetTimeZone(ctx, u.ID, "Europe/Paris"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.UserByEmail(ctx, u.Email); got.TimeZone != "Europe/Paris" {
			t.Errorf("time zone %q", got.TimeZone)
		}
	})
}

// TestUnsuspendUser: an admin lifts a suspension; the user may bid again,
// is told by a reinstated event, and the audit log says so.
func TestUnsuspendUser(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := mustService(t, db, newClock(t0))
		seller, u, admin := mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, true)
		a := mustAuction(t, s, seller, nil)
		if err := s.UnsuspendUser(ctx, admin, u.ID, "x"); domain.ErrorCode(err) != domain.CodeConflict {
			t.Errorf("unsuspend an active user: %v, want conflict", err)
		}
		if err := s.UnsuspendUser(ctx, seller, u.ID, "x"); err != domain.ErrNotAdmin {
			t.Errorf("unsuspend by a non-admin: %v", err)
		}
		if err := s.UnsuspendUser(ctx, admin, 999999, "x"); err != domain.ErrUserNotFound {
			t.Errorf("unsuspend nobody: %v", err)
		}
		if err := s.SuspendUser(ctx, admin, u.ID, "spam"); err != nil {
			t.Fatal(err)
		}
		if err := s.UnsuspendUser(ctx, admin, u.ID, "appeal upheld"); err != nil {
			t.Fatal(err)
		}
		back, err := s.UserByID(ctx, u.ID)
		if err != nil || back.Suspended {
			t.Fatalf("after unsuspend: %+v %v", back, err)
		}
		mustBid(t, s, back, a.ID, 1000, 0)
		evs := eventsOf(t, s, domain.UserChannel(u.ID))
		if last := evs[len(evs)-1]; last.Type != domain.EventReinstated || last.Reason != "appeal upheld" {
			t.Errorf("last personal event %+v, want reinstated", last)
		}
		entries, _ := s.Audit(ctx, 1)
		if len(entries) != 1 || entries[0].Action != "unsuspend_user" || entries[0].TargetID != u.ID {
			t.Errorf("audit %+v", entries)
		}
	})
}

// TestCancelBidTellsTheBidder: striking a bid sends its bidder a
// bid_cancelled event with the reason.
func TestCancelBidTellsTheBidder(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := mustService(t, db, newClock(t0))
		seller, x, admin := mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, true)
		a := mustAuction(t, s, seller, nil)
		r := mustBid(t, s, x, a.ID, 1500, 0)
		if _, err := s.CancelBid(ctx, admin, a.ID, r.BidID, "shill bidding"); err != nil {
			t.Fatal(err)
		}
		evs := eventsOf(t, s, domain.UserChannel(x.ID))
		if len(evs) != 1 {
			t.Fatalf("personal events %+v, want one", evs)
		}
		e := evs[0]
		if e.Type != domain.EventBidCancelled || e.BidID != r.BidID || e.BidAmount != 1500 || e.Reason != "shill bidding" || e.AuctionID != a.ID || e.BidCount != 0 {
			t.Errorf("event %+v", e)
		}
	})
}
