package bidding

import (
	"context"
	"errors"
	"testing"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

func TestAuctionCategory(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		s := mustService(t, db, newClock(t0))
		var paintings, coins int64
		db.Raw("SELECT id FROM categories WHERE slug = 'paintings'").Scan(&paintings)
		db.Raw("SELECT id FROM categories WHERE slug = 'coins'").Scan(&coins)
		seller := mustUser(t, s, false)
		a := mustAuction(t, s, seller, func(in *domain.AuctionInput) { in.CategoryID = &paintings })
		if got := mustGet(t, s, a.ID).CategoryID; got != paintings {
			t.Fatalf("category after create: %d, want %d", got, paintings)
		}
		in := domain.AuctionInput{Title: "Lamp 2", Currency: "EUR", StartPrice: 1000, EndsAt: a.EndsAt}
		if _, err := s.UpdateAuction(context.Background(), seller, a.ID, in); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, a.ID).CategoryID; got != paintings {
			t.Errorf("an edit without a category changed it to %d", got)
		}
		in.CategoryID = &coins
		if _, err := s.UpdateAuction(context.Background(), seller, a.ID, in); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, a.ID).CategoryID; got != coins {
			t.Errorf("category after the edit: %d, want %d", got, coins)
		}
		missing := int64(999999)
		_, err := s.CreateAuction(context.Background(), seller, domain.AuctionInput{Title: "X", Currency: "EUR", StartPrice: 1,
			EndsAt: a.EndsAt, CategoryID: &missing})
		var de *domain.Error
		if !errors.As(err, &de) || de.Fields["category"] == "" {
			t.Errorf("a missing category: %v, want an invalid category", err)
		}
	})
}

func TestTransact(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		s := mustService(t, db, newClock(t0))
		u := mustUser(t, s, false)
		seller := mustUser(t, s, false)
		a := mustAuction(t, s, seller, nil)
		ev := domain.StateEvent(domain.EventEndingSoon, a, t0)
		ev.UserID, ev.ThresholdSeconds = u.ID, 60
		// A failing fn writes nothing.
		boom := errors.New("boom")
		if err := s.Transact(context.Background(), func(tx *gorm.DB) ([]domain.Event, error) {
			if err := tx.Exec("INSERT INTO watchlist (user_id, auction_id, created_at) VALUES (?, ?, ?)", u.ID, a.ID, t0).Error; err != nil {
				return nil, err
			}
			return []domain.Event{ev}, boom
		}); !errors.Is(err, boom) {
			t.Fatalf("Transact: %v", err)
		}
		if n := len(eventsOf(t, s, domain.UserChannel(u.ID))); n != 0 {
			t.Fatalf("a failed transaction left %d events", n)
		}
		select { // the listing's own wake-up
		case <-s.Committed():
		default:
		}
		err := s.Transact(context.Background(), func(tx *gorm.DB) ([]domain.Event, error) {
			if err := tx.Exec("INSERT INTO watchlist (user_id, auction_id, created_at) VALUES (?, ?, ?)", u.ID, a.ID, t0).Error; err != nil {
				return nil, err
			}
			return []domain.Event{ev, ev}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got := eventsOf(t, s, domain.UserChannel(u.ID))
		if len(got) != 2 || got[0].Type != domain.EventEndingSoon || got[0].UserSeq != 1 || got[1].UserSeq != 2 || got[0].ThresholdSeconds != 60 {
			t.Errorf("events: %+v", got)
		}
		var n int64
		db.Raw("SELECT count(*) FROM watchlist WHERE user_id = ?", u.ID).Scan(&n)
		if n != 1 {
			t.Errorf("watchlist rows: %d", n)
		}
		select {
		case <-s.Committed():
		default:
			t.Error("the relay was not woken")
		}
	})
}
