package realtime

import (
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gavel-auctions/gavel/domain"
)

// saleID is the sale the tests stream; its lots are auctions 1..n.
const saleID = 9

// lotEvent makes event seq of lot id, at position saleSeq of the sale's
// log (0: covered by a sale-level event).
func lotEvent(id, seq, saleSeq int64, typ domain.EventType) domain.Event {
	ev := auctionEvent(id, seq, typ)
	ev.SaleID, ev.SaleSeq, ev.LotNumber = saleID, saleSeq, int(id)
	return ev
}

// saleEvent makes the sale's own event at position saleSeq.
func saleEvent(saleSeq int64, typ domain.EventType) domain.Event {
	return domain.Event{ID: domain.MakeID(domain.SaleChannel(saleID), saleSeq), Type: typ, SaleID: saleID, SaleSeq: saleSeq,
		SaleStatus: domain.SaleOpen, CommittedAt: time.Now().UTC()}
}

// seedSale commits the opening of lots 1..n (sale positions 1..n).
func (e *env) seedSale(n int64) {
	for id := int64(1); id <= n; id++ {
		e.log.add(e.t, lotEvent(id, 1, id, domain.EventOpened))
	}
}

func saleSpec(last string) domain.StreamSpec {
	return domain.StreamSpec{UserID: 4, SaleIDs: []int64{saleID}, LastEventID: last}
}

func decode(t *testing.T, e sseEvent) domain.Event {
	t.Helper()
	var ev domain.Event
	if err := json.Unmarshal([]byte(e.Data), &ev); err != nil {
		t.Fatalf("event data %q: %v", e.Data, err)
	}
	return ev
}

// TestSaleStream: one stream carries a whole sale: a snapshot of every
// lot, then every lot's events and the sale's own, by sale position, over
// one NATS subscription whatever the number of lots. The lot events a
// sale-level event stands for, and other auctions' events, stay out.
func TestSaleStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, nc := e.hub(Config{})
	e.seedSale(3)
	e.seed(50, 1) // a single listing
	before := nc.NumSubscriptions()
	c := dial(t, h, saleSpec(""))
	snap := c.expect(domain.EventSaleSnapshot, "s9:3")
	if snap.SaleSeq != 3 || snap.Sale == nil || snap.Sale.ID != saleID || len(snap.Lots) != 3 {
		t.Fatalf("snapshot: sale_seq %d sale %+v, %d lots", snap.SaleSeq, snap.Sale, len(snap.Lots))
	}
	for i, l := range snap.Lots {
		if l.AuctionID != int64(i+1) || l.Type != domain.EventSnapshot || l.Seq != 1 {
			t.Errorf("lot %d of the snapshot: %+v", i, l)
		}
	}
	waitFor(t, "stream live", func() bool { return liveChannels(h) == 1 })
	if d := nc.NumSubscriptions() - before; d != 1 {
		t.Fatalf("a sale stream of 3 lots holds %d NATS subscriptions, want 1", d)
	}

	// A lot's own page follows it too: it gets the lot's events from the
	// sale's subject.
	lot := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{2}})
	lot.expect(domain.EventSnapshot, "2:1")
	waitFor(t, "lot live", func() bool { return liveChannels(h) == 2 })

	e.publish(lotEvent(2, 2, 4, domain.EventPrice))
	if ev := c.expect(domain.EventPrice, "s9:4"); ev.AuctionID != 2 || ev.Seq != 2 || ev.SaleSeq != 4 {
		t.Fatalf("lot event %+v", ev)
	}
	lot.expect(domain.EventPrice, "2:2")

	// A cascade: lot 3's move is covered by the sale's sale_extended.
	e.publish(lotEvent(3, 2, 0, domain.EventExtended))
	lot2 := lotEvent(2, 3, 5, domain.EventExtended)
	e.publish(lot2)
	ext := saleEvent(6, domain.EventSaleExtended)
	ext.AfterLot, ext.ShiftMS = 2, 30000
	e.publish(ext)
	e.publish(auctionEvent(50, 2, domain.EventPrice))
	c.expect(domain.EventExtended, "s9:5")
	if ev := c.expect(domain.EventSaleExtended, "s9:6"); ev.AfterLot != 2 || ev.ShiftMS != 30000 {
		t.Fatalf("sale_extended %+v", ev)
	}
	c.quiet(150 * time.Millisecond)
	lot.expect(domain.EventExtended, "2:3")
	lot.quiet(100 * time.Millisecond)
}

// TestSaleStreamResumes: a catalogue resumes by its sale position on any
// node: exactly the missed events, in order, then live; a position the
// Log cannot serve (trimmed, or from the future) restarts from a reset
// snapshot.
func TestSaleStreamResumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h1, _ := e.hub(Config{Node: "a"})
	h2, _ := e.hub(Config{Node: "b"})
	e.seedSale(2)
	c := dial(t, h1, saleSpec(""))
	c.expect(domain.EventSaleSnapshot, "s9:2")
	waitFor(t, "live on a", func() bool { return liveChannels(h1) == 1 })
	e.publish(lotEvent(1, 2, 3, domain.EventPrice))
	c.expect(domain.EventPrice, "s9:3")
	_ = c.nc.Close()

	// Missed while away: more than the ring of a cold node would hold is
	// not needed; node b has no topic yet and reads the Log.
	e.publish(lotEvent(2, 2, 4, domain.EventPrice))
	e.publish(saleEvent(5, domain.EventSalePaused))
	e.publish(saleEvent(6, domain.EventSaleResumed))
	e.publish(lotEvent(1, 3, 7, domain.EventPrice))
	r := dial(t, h2, saleSpec("s9:3"))
	for _, want := range []struct {
		typ domain.EventType
		seq int
	}{{domain.EventPrice, 4}, {domain.EventSalePaused, 5}, {domain.EventSaleResumed, 6}, {domain.EventPrice, 7}} {
		r.expect(want.typ, "s9:"+strconv.Itoa(want.seq))
	}
	waitFor(t, "live on b", func() bool { return liveChannels(h2) == 1 })
	e.publish(lotEvent(2, 3, 8, domain.EventPrice))
	r.expect(domain.EventPrice, "s9:8")
	r.quiet(100 * time.Millisecond)

	// Retention trimmed what a client last saw.
	e.log.trim(domain.SaleChannel(saleID), 6)
	old := dial(t, h2, saleSpec("s9:3"))
	if ev := old.expect(domain.EventSaleSnapshot, "s9:8"); !ev.Reset || len(ev.Lots) != 2 {
		t.Fatalf("trimmed resume: reset %v, %d lots", ev.Reset, len(ev.Lots))
	}
	// A position from another database.
	future := dial(t, h1, saleSpec("s9:99"))
	if ev := future.expect(domain.EventSaleSnapshot, "s9:8"); !ev.Reset {
		t.Fatal("a cursor from the future did not get a reset snapshot")
	}
}

// TestSaleStreamGapFilled: a sale position lost on NATS is read back from
// the Log before what follows it.
func TestSaleStreamGapFilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{})
	e.seedSale(2)
	c := dial(t, h, saleSpec(""))
	c.expect(domain.EventSaleSnapshot, "s9:2")
	waitFor(t, "live", func() bool { return liveChannels(h) == 1 })
	e.log.add(t, lotEvent(1, 2, 3, domain.EventPrice)) // committed, never published
	e.publish(saleEvent(4, domain.EventSalePaused))
	c.expect(domain.EventPrice, "s9:3")
	c.expect(domain.EventSalePaused, "s9:4")
	// A duplicate publish is dropped.
	e.publishOnly(saleEvent(4, domain.EventSalePaused))
	c.quiet(100 * time.Millisecond)
}

// TestSaleStreamWithOtherChannels: a sale is a channel like any other, so
// a stream may carry it beside auctions and the user's own events (as a
// browser's shared connection does), with one cursor for all.
func TestSaleStreamWithOtherChannels(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{})
	e.seedSale(2)
	e.seed(50, 1)
	spec := domain.StreamSpec{UserID: 4, AuctionIDs: []int64{50}, SaleIDs: []int64{saleID}, Personal: true}
	c := dial(t, h, spec)
	c.expect(domain.EventSnapshot, "50:1")
	c.expect(domain.EventSaleSnapshot, "50:1,s9:2")
	waitFor(t, "live", func() bool { return liveChannels(h) == 3 })
	e.publish(lotEvent(1, 2, 3, domain.EventPrice))
	c.expect(domain.EventPrice, "50:1,s9:3,u:0")
	e.publish(personalEvent(4, 1, 1))
	c.expect(domain.EventOutbid, "50:1,s9:3,u:1")
	_ = c.nc.Close()
	e.publish(lotEvent(2, 2, 4, domain.EventPrice))
	e.publish(auctionEvent(50, 2, domain.EventPrice))
	spec.LastEventID = "50:1,s9:3,u:1"
	r := dial(t, h, spec)
	prev := spec.LastEventID
	for range 2 {
		ev := r.next()
		stepsByOneWithSales(t, prev, ev.ID)
		prev = ev.ID
	}
	if prev != "50:2,s9:4,u:1" {
		t.Fatalf("resume ended at %s", prev)
	}
}

// stepsByOneWithSales checks that next advances exactly one channel of
// prev by one, sales included.
func stepsByOneWithSales(t *testing.T, prev, next string) {
	t.Helper()
	a, ok1 := parseCursor(prev)
	b, ok2 := parseCursor(next)
	if !ok1 || !ok2 || len(a.sales) != len(b.sales) {
		t.Fatalf("cursor %q -> %q: different channels", prev, next)
	}
	steps := 0
	for i, p := range a.sales {
		if d := b.sales[i].seq - p.seq; b.sales[i].id != p.id || d < 0 || d > 1 {
			t.Fatalf("cursor %q -> %q", prev, next)
		} else if d == 1 {
			steps++
		}
	}
	a.sales, b.sales = nil, nil
	if steps == 0 {
		stepsByOne(t, a.String(), b.String())
	} else if a.String() != b.String() {
		t.Fatalf("cursor %q -> %q advances more than the sale", prev, next)
	}
}

// TestSaleSnapshotsCoalesce: catalogues opening together share snapshot
// reads, and none joins a read already under way.
func TestSaleSnapshotsCoalesce(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var mu sync.Mutex
	reads := 0
	s := &saleSnapper{read: func(id int64) (saleSnap, error) {
		mu.Lock()
		reads++
		n := reads
		mu.Unlock()
		if n == 1 {
			<-release
		}
		return saleSnap{ev: domain.Event{SaleID: id, SaleSeq: int64(n)}}, nil
	}}
	first := make(chan saleSnap)
	go func() { snap, _ := s.get(1); first <- snap }()
	waitFor(t, "the first read", func() bool { mu.Lock(); defer mu.Unlock(); return reads == 1 })
	var wg sync.WaitGroup
	got := make([]saleSnap, 20)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i], _ = s.get(1) }()
	}
	waitFor(t, "waiters queued", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.sales[1] != nil && s.sales[1].pending != nil
	})
	time.Sleep(20 * time.Millisecond) // let the rest queue behind the read in flight
	close(release)
	if snap := <-first; snap.ev.SaleSeq != 1 {
		t.Fatalf("first read gave %d", snap.ev.SaleSeq)
	}
	wg.Wait()
	for i, snap := range got {
		if snap.ev.SaleSeq < 2 {
			t.Fatalf("waiter %d joined the read in flight (got read %d)", i, snap.ev.SaleSeq)
		}
	}
	if reads > 3 {
		t.Errorf("%d reads for 21 streams", reads)
	}
}

// TestSaleWatchersForTheSeller: a stream that asks for its sale's
// watchers gets their count over the cluster, both nodes' streams.
func TestSaleWatchersForTheSeller(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	interval := 50 * time.Millisecond
	h1, _ := e.hub(Config{StatsInterval: interval, Node: "n1"})
	h2, _ := e.hub(Config{StatsInterval: interval, Node: "n2"})
	e.seedSale(1)
	for _, h := range []*Hub{h1, h2, h2} {
		c := dial(t, h, saleSpec(""))
		c.expect(domain.EventSaleSnapshot, "s9:1")
	}
	spec := saleSpec("")
	spec.SaleWatchers = true
	dash := dial(t, h1, spec)
	dash.expect(domain.EventSaleSnapshot, "s9:1")
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev := dash.next()
		if ev.Type == string(domain.EventSaleWatchers) {
			if ev.ID != "s9:1" {
				t.Fatalf("a watcher count moved the stream's id to %q", ev.ID) // counts carry no id
			}
			var d saleWatchersEvent
			if err := json.Unmarshal([]byte(ev.Data), &d); err != nil || d.SaleID != saleID {
				t.Fatalf("sale_watchers %q: %v", ev.Data, err)
			}
			if d.Watchers == 4 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the dashboard never counted the 4 streams of two nodes")
		}
	}
	// The other streams did not ask, and get no counts.
	other := dial(t, h1, saleSpec("s9:1"))
	other.quiet(4 * interval)
}

// TestSaleStreamRefusals: bad sale ids are refused, and so is a sale
// stream on a node whose Log cannot snapshot sales.
func TestSaleStreamRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{})
	many := make([]int64, maxSales+1)
	for i := range many {
		many[i] = int64(i + 1)
	}
	for _, ids := range [][]int64{{0}, {-1}, many} {
		if _, err := h.Open(domain.StreamSpec{UserID: 1, SaleIDs: ids}); !isCode(err, domain.CodeInvalid) {
			t.Errorf("sale ids %v: %v, want invalid", ids, err)
		}
	}
	plain, err := New(Config{}, e.conn("plain"), struct{ Log }{e.log}, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Open(saleSpec("")); !isCode(err, domain.CodeUnavailable) {
		t.Errorf("a Log without sales: %v, want unavailable", err)
	}
}

func isCode(err error, code domain.Code) bool {
	var de *domain.Error
	return errors.As(err, &de) && de.Code == code
}
