package search

import (
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// moveEnd moves a lot's end as a cascade does: later, leaving its end
// floor (the indexes' column, bidding's migration 00016) where it was.
func moveEnd(tb testing.TB, db *gorm.DB, id int64, d time.Duration) {
	tb.Helper()
	var end time.Time
	if err := db.Raw("SELECT ends_at FROM auctions WHERE id = ?", id).Scan(&end).Error; err != nil {
		tb.Fatal(err)
	}
	if err := db.Exec("UPDATE auctions SET ends_at = ? WHERE id = ?", end.Add(d).UTC(), id).Error; err != nil {
		tb.Fatal(err)
	}
}

// A lot a cascade moved is filtered by its true end ("ending within" is
// exact), sorted by its floor (its end before the move) until the
// scheduler folds the move in, and every page of the end order holds each
// lot once.
func TestSearchMovedLot(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		sd := newSeeder(t, db)
		s := mustService(db)
		// Ends at 10, 20, 30, 40, 50 minutes; the 20-minute lot then
		// moves to 45 minutes.
		var lots []int64
		for i := range 5 {
			lots = append(lots, sd.add(lot{title: "Clock", endsIn: time.Duration(10*(i+1)) * time.Minute}))
		}
		moved := lots[1]
		moveEnd(t, db, moved, 25*time.Minute)

		within := all(t, s, domain.SearchQuery{EndingWithin: 30 * time.Minute}, 100)
		if want := []int64{lots[0], lots[2]}; !slices.Equal(within, want) {
			t.Errorf("ending within 30 minutes: got %v, want %v (the moved lot ends in 45)", within, want)
		}
		within = all(t, s, domain.SearchQuery{EndingWithin: 45 * time.Minute}, 100)
		if !slices.Contains(within, moved) {
			t.Errorf("ending within 45 minutes: got %v, want the moved lot %d in it", within, moved)
		}
		for _, limit := range []int{1, 2, 100} {
			if got := all(t, s, domain.SearchQuery{}, limit); !slices.Equal(got, lots) {
				t.Errorf("ending soonest, pages of %d: got %v, want %v (the moved lot at its floor)", limit, got, lots)
			}
		}
	})
}
