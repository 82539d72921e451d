package realtime

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// TestLogoutClosesTheSessionsStreams: a logout, published on the control
// subject by whichever node served it, closes every stream of that session
// at once, and only those: the same user's other session (another
// browser) keeps its streams. A stream of the ended session that was still
// being set up is refused.
func TestLogoutClosesTheSessionsStreams(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{Heartbeat: time.Minute})
	e.seed(1, 1)
	phone, laptop := domain.SessionHash("token-phone"), domain.SessionHash("token-laptop")
	a1 := dial(t, h, domain.StreamSpec{UserID: 5, Session: phone, AuctionIDs: []int64{1}})
	a2 := dial(t, h, domain.StreamSpec{UserID: 5, Session: phone, Personal: true})
	b := dial(t, h, domain.StreamSpec{UserID: 5, Session: laptop, AuctionIDs: []int64{1}})
	a1.expect(domain.EventSnapshot, "1:1")
	b.expect(domain.EventSnapshot, "1:1")

	start := time.Now()
	data, _ := json.Marshal(domain.SessionEnded{Session: phone})
	if err := e.pub.Publish(domain.ControlLogoutSubject, data); err != nil {
		t.Fatal(err)
	}
	// "At once": well before a heartbeat (a minute here) could notice.
	a1.closed(2 * time.Second)
	a2.closed(2 * time.Second)
	t.Logf("closed %v after the logout", time.Since(start).Round(time.Millisecond))
	if _, err := h.Open(domain.StreamSpec{UserID: 5, Session: phone, AuctionIDs: []int64{1}}); domain.ErrorCode(err) != domain.CodeUnauthorized {
		t.Fatalf("Open for an ended session = %v, want unauthorized", err)
	}
	e.publish(auctionEvent(1, 2, domain.EventExtended))
	b.expect(domain.EventExtended, "1:2")
	waitFor(t, "one connection left", func() bool { return h.Stats().Connections == 1 })
}

func TestSessionHash(t *testing.T) {
	t.Parallel()
	a, b := domain.SessionHash("abc"), domain.SessionHash("abd")
	if a == b || len(a) != 32 || a == "abc" || domain.SessionHash("abc") != a || domain.SessionHash("") != "" {
		t.Errorf("SessionHash: %q %q", a, b)
	}
}
