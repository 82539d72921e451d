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

// TestGuestStreamsCappedPerSession: a guest has no user id, so the
// per-user cap would not hold; its session's cap does, and another guest
// session is not affected.
func TestGuestStreamsCappedPerSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{MaxConnsPerUser: 2})
	e.seed(1, 1)
	g1, g2 := domain.SessionHash("guest-1"), domain.SessionHash("guest-2")
	a := dial(t, h, domain.StreamSpec{Session: g1, AuctionIDs: []int64{1}})
	dial(t, h, domain.StreamSpec{Session: g1, AuctionIDs: []int64{1}}).expect(domain.EventSnapshot, "1:1")
	if _, err := h.Open(domain.StreamSpec{Session: g1, AuctionIDs: []int64{1}}); domain.ErrorCode(err) != domain.CodeRateLimited {
		t.Fatalf("third stream of a guest session: %v, want rate_limited", err)
	}
	dial(t, h, domain.StreamSpec{Session: g2, AuctionIDs: []int64{1}}).expect(domain.EventSnapshot, "1:1")
	// A stream that ends gives its place back.
	a.expect(domain.EventSnapshot, "1:1")
	_ = a.nc.Close()
	waitFor(t, "the closed stream released", func() bool {
		serve, err := h.Open(domain.StreamSpec{Session: g1, AuctionIDs: []int64{1}})
		if err == nil {
			serve(nil)
		}
		return err == nil
	})
}

// TestWatchersRequest: a node answers how many streams watch each auction,
// leaving out the asking seller's own.
func TestWatchersRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, nc := e.hub(Config{Node: "counting"})
	e.seed(1, 1)
	e.seed(2, 1)
	for _, spec := range []domain.StreamSpec{
		{UserID: 7, AuctionIDs: []int64{1, 2}}, // the seller's own page
		{UserID: 8, AuctionIDs: []int64{1}},
		{Session: domain.SessionHash("g"), AuctionIDs: []int64{1, 2}},
	} {
		dial(t, h, spec).next()
	}
	waitFor(t, "streams live", func() bool { return h.Stats().Watchers == 5 })
	data, _ := json.Marshal(domain.WatchersRequest{AuctionIDs: []int64{1, 2, 3}, ExcludeUser: 7})
	msg, err := nc.Request(domain.WatchersSubject, data, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var got domain.WatchersReply
	if err := json.Unmarshal(msg.Data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Node != "counting" || got.Watchers[1] != 2 || got.Watchers[2] != 1 || len(got.Watchers) != 2 {
		t.Errorf("reply %+v, want auction 1: 2, auction 2: 1 (the seller left out), nothing for 3", got)
	}
}
