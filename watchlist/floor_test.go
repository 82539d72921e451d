package watchlist

import (
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// A lot a cascade moved keeps its end floor (bidding's migration 00016),
// a lower bound of its end that the index of running lots holds: its
// reminders still follow its true end, also once the floor has passed.
func TestRemindersOfAMovedLotFollowItsEnd(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, Options{})
		seller, ann := e.user(), e.user()
		a := e.lot(seller, 5*time.Minute) // floor and end at t0+5m
		e.watch(ann, a.ID)
		// Moved as a cascade moves it: the end 15 minutes later, the floor
		// left at t0+5m.
		if err := db.Exec("UPDATE auctions SET ends_at = ? WHERE id = ?", a.EndsAt.Add(15*time.Minute), a.ID).Error; err != nil {
			t.Fatal(err)
		}
		e.tick() // at t0: the 15-minute reminder is due at t0+5m
		if got := endingSoon(e.reminders(ann)); len(got) != 0 {
			t.Fatalf("at t0, 20 minutes before the end: %v", got)
		}
		e.clk.advanceTo(6 * time.Minute) // past the floor, 14 minutes before the end
		e.tick()
		e.tick()
		if got := endingSoon(e.reminders(ann)); !slices.Equal(got, []string{"ending_soon/900"}) {
			t.Errorf("14 minutes before the end, past the floor: %v, want the 15-minute reminder", got)
		}
	})
}

// endingSoon keeps the ending_soon reminders of reminders' output (a move
// also sends watch_extended).
func endingSoon(rs []string) []string {
	return slices.DeleteFunc(rs, func(r string) bool { return !strings.HasPrefix(r, "ending_soon") })
}
