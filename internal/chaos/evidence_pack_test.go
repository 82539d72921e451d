package chaos

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// TestUnpackEvents: the evidence sees a pack's events as the relay
// publishes them, one row each, on their lots' logs.
func TestUnpackEvents(t *testing.T) {
	var payload string
	for i := range 3 {
		e := domain.StateEvent(domain.EventExtended, domain.Auction{ID: int64(10 + i), SaleID: 2, Seq: 4}, time.Now())
		e.ID = domain.MakeID(e.Channel(), e.Seq)
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		payload += e.Subject() + "\t" + e.ID + "\t" + string(b) + "\n"
	}
	rows, err := unpackEvents(nil, EventRow{ID: 99, Published: true}, payload)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	for i, r := range rows {
		want := EventRow{ID: 99, Channel: fmt.Sprintf("auction:%d", 10+i), Seq: 4,
			EventID: fmt.Sprintf("a%d-4", 10+i), Type: "extended", Published: true}
		if r != want {
			t.Errorf("row %d = %+v, want %+v", i, r, want)
		}
	}
	if _, err := unpackEvents(nil, EventRow{ID: 1}, "gavel.auction.1\ta1-1\n"); err == nil {
		t.Error("a line without its JSON was accepted")
	}
}
