package realtime

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// TestResumeOnAnotherNode: a client reads from one node, drops, and
// resumes on another with its Last-Event-ID; it sees every event once.
func TestResumeOnAnotherNode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h1, _ := e.hub(Config{Node: "a"})
	h2, _ := e.hub(Config{Node: "b"})
	e.seed(1, 2)
	e.seed(2, 1)
	spec := domain.StreamSpec{UserID: 4, AuctionIDs: []int64{1, 2}, Personal: true}
	c := dial(t, h1, spec)
	c.expect(domain.EventSnapshot, "1:2")
	c.expect(domain.EventSnapshot, "1:2,2:1")
	waitFor(t, "live on a", func() bool { return liveChannels(h1) == 3 })

	// Node b already watches auction 1, so its topic is warm.
	other := dial(t, h2, domain.StreamSpec{AuctionIDs: []int64{1}})
	other.expect(domain.EventSnapshot, "1:2")
	waitFor(t, "live on b", func() bool { return liveChannels(h2) == 1 })

	e.publish(auctionEvent(1, 3, domain.EventExtended))
	c.expect(domain.EventExtended, "1:3,2:1,u:0")
	_ = c.nc.Close()

	e.publish(auctionEvent(1, 4, domain.EventPrice))
	e.publish(personalEvent(4, 1, 1))
	e.publish(auctionEvent(2, 2, domain.EventExtended))
	e.publish(auctionEvent(1, 5, domain.EventExtended))

	spec.LastEventID = "1:3,2:1,u:0"
	r := dial(t, h2, spec)
	prev := spec.LastEventID
	for range 4 {
		ev := r.next()
		stepsByOne(t, prev, ev.ID)
		prev = ev.ID
	}
	if prev != "1:5,2:2,u:1" {
		t.Fatalf("resume ended at %s", prev)
	}
	e.publish(auctionEvent(1, 6, domain.EventExtended))
	r.expect(domain.EventExtended, "1:6,2:2,u:1")
	r.quiet(100 * time.Millisecond)
}

// TestNATSRestartLosesNothing: the NATS server goes away mid-stream, events
// commit meanwhile (the relay cannot publish them), and the server comes
// back on the same port and store. Watchers get every event, in order,
// without waiting for a new one to reveal the gap.
func TestNATSRestartLosesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{})
	e.seed(1, 2)
	c := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}})
	p := dial(t, h, domain.StreamSpec{UserID: 3, Personal: true})
	c.expect(domain.EventSnapshot, "1:2")
	waitFor(t, "live", func() bool { return liveChannels(h) == 2 })
	e.publish(auctionEvent(1, 3, domain.EventExtended))
	c.expect(domain.EventExtended, "1:3")

	port := e.port
	e.ns.Shutdown()
	e.ns.WaitForShutdown()
	for s := int64(4); s <= 6; s++ {
		e.log.add(t, auctionEvent(1, s, domain.EventExtended))
	}
	e.log.add(t, personalEvent(3, 1, 1))
	time.Sleep(300 * time.Millisecond)
	e.start(port)

	for s := int64(4); s <= 6; s++ {
		c.expect(domain.EventExtended, "1:"+itoa(s))
	}
	p.expect(domain.EventOutbid, "u:1")
	waitFor(t, "relay reconnected", func() bool { return e.pub.IsConnected() })
	e.publish(auctionEvent(1, 7, domain.EventExtended))
	c.expect(domain.EventExtended, "1:7")
	c.quiet(100 * time.Millisecond)
}

// TestLogOutageDuringGapFill: the Log fails while a gap is open; the fill
// retries and the stream stays in order once the Log is back.
func TestLogOutageDuringGapFill(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{})
	e.seed(1, 1)
	c := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}})
	c.expect(domain.EventSnapshot, "1:1")
	waitFor(t, "live", func() bool { return liveChannels(h) == 1 })
	e.log.setFail(errTestLog)
	e.log.add(t, auctionEvent(1, 2, domain.EventExtended))
	e.publish(auctionEvent(1, 3, domain.EventExtended))
	c.quiet(150 * time.Millisecond)
	e.log.setFail(nil)
	c.expect(domain.EventExtended, "1:2")
	c.expect(domain.EventExtended, "1:3")
}

// stepsByOne checks that cursor next advances exactly one channel of prev
// by exactly one: nothing skipped, nothing repeated.
func stepsByOne(t *testing.T, prev, next string) {
	t.Helper()
	a, ok1 := parseCursor(prev)
	b, ok2 := parseCursor(next)
	if !ok1 || !ok2 || len(a.auctions) != len(b.auctions) || a.hasUser != b.hasUser {
		t.Fatalf("cursor %q -> %q: different channels", prev, next)
	}
	steps := 0
	for i, p := range a.auctions {
		switch d := b.auctions[i].seq - p.seq; {
		case b.auctions[i].id != p.id || d < 0 || d > 1:
			t.Fatalf("cursor %q -> %q", prev, next)
		case d == 1:
			steps++
		}
	}
	if d := b.user - a.user; d == 1 {
		steps++
	} else if d != 0 {
		t.Fatalf("cursor %q -> %q", prev, next)
	}
	if steps != 1 {
		t.Fatalf("cursor %q -> %q advances %d channels", prev, next, steps)
	}
}

var errTestLog = domainErr("database down")

type domainErr string

func (e domainErr) Error() string { return string(e) }

// TestDroppedMessagesCaughtUp: when a shard falls so far behind that
// nats.go drops messages for it, and the dropped ones are the last (so no
// later event reveals the gap), the periodic check notices and the topic
// catches up from the Log.
func TestDroppedMessagesCaughtUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The burst below is far more than a client reads at once; this test
	// is about the catch-up, not slow consumers.
	h, _ := e.hub(Config{QueueLen: 2 * shardMsgs})
	e.seed(1, 1)
	c := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}})
	c.expect(domain.EventSnapshot, "1:1")
	waitFor(t, "live", func() bool { return liveChannels(h) == 1 })
	tp := h.allTopics()[0]

	const n = shardMsgs + 200
	tp.mu.Lock() // stall the shard's dispatcher inside onEvent
	for s := int64(2); s <= n; s++ {
		ev := auctionEvent(1, s, domain.EventExtended)
		e.log.add(t, ev)
		data, _ := json.Marshal(ev)
		if err := e.pub.Publish(ev.Subject(), data); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.pub.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "nats.go drops", func() bool { d, _ := tp.subs[0].Dropped(); return d > 0 })
	tp.mu.Unlock()
	for s := int64(2); s <= n; s++ {
		c.expect(domain.EventExtended, "1:"+itoa(s))
	}
	if s := h.Stats(); s.SlowConsumers != 0 {
		t.Fatalf("%d slow consumers", s.SlowConsumers)
	}
}
