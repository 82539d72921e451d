package domain_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// TestAppendCascadeMatchesCascade: AppendCascade appends to the caller's
// events what Cascade returns, gathers the moved lots at the front of
// later in lot order (a withdrawn lot between them stays behind), and
// leaves the events as they were when nothing moves.
func TestAppendCascadeMatchesCascade(t *testing.T) {
	t.Parallel()
	s, lots := saleWithLots(t, domain.SoftCloseCascade, 5, 60, 120)
	lots[2].Status = domain.StatusCancelled // lot 30
	from := lots[0]
	from.EndsAt = from.EndsAt.Add(100 * time.Second)
	wantMoved, wantEvents := domain.Cascade(s, from, lots[0].EndsAt, lots[1:], t0)
	if len(wantMoved) != 3 {
		t.Fatalf("Cascade moved %d lots, want 3", len(wantMoved))
	}

	head := []domain.Event{{Type: domain.EventPrice, AuctionID: from.ID}}
	later := slices.Clone(lots[1:])
	moved, events := domain.AppendCascade(slices.Clone(head), s, from, lots[0].EndsAt, later, t0)
	if !reflect.DeepEqual(moved, wantMoved) || &moved[0] != &later[0] {
		t.Errorf("moved %+v\nwant %+v, at the front of later", moved, wantMoved)
	}
	if !reflect.DeepEqual(events, append(slices.Clone(head), wantEvents...)) {
		t.Errorf("events %+v\nwant the head then %+v", events, wantEvents)
	}

	// The same shift again, each lot's cap where it now ends: nothing
	// moves.
	for i := range later {
		later[i].MaxExtension = later[i].EndsAt.Sub(later[i].OriginalEndsAt)
	}
	moved, events = domain.AppendCascade(slices.Clone(head), s, from, lots[0].EndsAt, moved, t0)
	if len(moved) != 0 || !reflect.DeepEqual(events, head) {
		t.Errorf("nothing to move: moved %d lots, events %+v", len(moved), events)
	}
}
