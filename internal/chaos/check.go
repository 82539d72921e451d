package chaos

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// Result is one row of the report: a property, whether it held, and what
// was measured.
type Result struct {
	Check  string
	OK     bool
	Detail string
}

// waitSlack is what a request may take past the dependency bound: the
// answer still has to be written, on a machine the suite shares with
// everything it runs.
const waitSlack = 1500 * time.Millisecond

// A checker judges one property of the evidence.
type checker struct {
	name string
	fn   func(*Evidence) (bool, string)
}

// checkers are the properties Gavel promises under faults.
func checkers() []checker {
	return []checker{
		{"every 201 bid is in the database with the amount acknowledged", checkAcks},
		{"the final state equals a replay of the accepted bids", checkReplay},
		{"no event is left in the outbox", checkOutbox},
		{"JetStream holds every event once, in order", checkStream},
		{"every watcher got every event once, in order, across nodes", checkWatchers},
		{"every auction closed exactly once", checkClosed},
		{"5xx answers are only 503, with Retry-After", check5xx},
		{"no request waited past the bound", checkBound},
	}
}

// Check judges the evidence: the properties, then each fault's recovery.
func Check(ev *Evidence) []Result {
	var out []Result
	for _, c := range checkers() {
		ok, detail := c.fn(ev)
		out = append(out, Result{Check: c.name, OK: ok, Detail: detail})
	}
	return append(out, recoveries(ev)...)
}

// problems collects failures, keeping the first few for the report.
type problems struct {
	n     int
	first []string
}

func (p *problems) add(format string, args ...any) {
	p.n++
	if len(p.first) < 3 {
		p.first = append(p.first, fmt.Sprintf(format, args...))
	}
}

func (p *problems) result(ok string) (bool, string) {
	if p.n == 0 {
		return true, ok
	}
	return false, fmt.Sprintf("%d failures: %s", p.n, strings.Join(p.first, "; "))
}

func checkAcks(ev *Evidence) (bool, string) {
	var p problems
	distinct := map[int64]bool{}
	byKey := map[string]int64{}
	for _, a := range ev.Acks {
		if a.Key != "" {
			k := strconv.FormatInt(a.Bidder, 10) + "/" + a.Key
			if prev, ok := byKey[k]; ok && prev != a.BidID {
				p.add("Idempotency-Key %s got bids %d and %d", a.Key, prev, a.BidID)
			}
			byKey[k] = a.BidID
		}
		if distinct[a.BidID] {
			continue
		}
		distinct[a.BidID] = true
		b, ok := ev.DB.BidsByID[a.BidID]
		switch {
		case !ok:
			p.add("bid %d (auction %d, %d) acknowledged but not in the database", a.BidID, a.Auction, a.Amount)
		case b.Auction != a.Auction || b.Bidder != a.Bidder || b.Amount != a.Amount || b.MaxAmount != a.MaxAmount || b.Seq != a.Seq:
			p.add("bid %d: acknowledged %d (max %d, seq %d), stored %d (max %d, seq %d)", a.BidID, a.Amount, a.MaxAmount, a.Seq, b.Amount, b.MaxAmount, b.Seq)
		case b.Voided:
			p.add("bid %d acknowledged but voided", a.BidID)
		}
	}
	if len(distinct) == 0 {
		p.add("no bid was acknowledged: the storm tested nothing")
	}
	return p.result(fmt.Sprintf("%d acknowledged bids (%d receipts, retries included) all stored as acknowledged", len(distinct), len(ev.Acks)))
}

func checkReplay(ev *Evidence) (bool, string) {
	var p problems
	bids := 0
	for _, id := range ev.Auctions {
		final, ok := ev.DB.Auctions[id]
		if !ok {
			p.add("auction %d is missing", id)
			continue
		}
		r := final
		r.Status, r.CurrentPrice, r.BidCount, r.LeaderID, r.LeaderMax, r.LeaderAlias, r.BidderCount = domain.StatusOpen, 0, 0, 0, 0, "", 0
		r.EndsAt, r.Seq = final.OriginalEndsAt, 1 // listed open: its opened event is seq 1
		for _, b := range ev.DB.Bids[id] {
			bids++
			out, err := domain.PlaceBid(r, domain.BidRequest{BidderID: b.Bidder, Alias: ev.DB.Aliases[[2]int64{id, b.Bidder}],
				Amount: b.Amount, MaxAmount: b.MaxAmount, BuyNow: b.BuyNow}, b.ReceivedAt)
			if err != nil {
				p.add("auction %d: replaying bid seq %d: %v", id, b.Seq, err)
				break
			}
			if out.Bid.Seq != b.Seq {
				p.add("auction %d: replayed bid got seq %d, stored %d", id, out.Bid.Seq, b.Seq)
			}
			r = out.Auction
		}
		if final.Status == domain.StatusClosed {
			at := r.EndsAt
			if final.UpdatedAt.After(at) {
				at = final.UpdatedAt
			}
			r, _, _ = domain.Close(r, at)
		}
		if r.Status != final.Status || r.CurrentPrice != final.CurrentPrice || r.LeaderID != final.LeaderID ||
			r.LeaderMax != final.LeaderMax || r.LeaderAlias != final.LeaderAlias || r.BidCount != final.BidCount ||
			r.Seq != final.Seq || r.EndsAt.Sub(final.EndsAt).Abs() > time.Microsecond {
			p.add("auction %d: stored %s price %d leader %d/%q max %d bids %d seq %d ends %s; replay %s %d %d/%q %d %d %d %s",
				id, final.Status, final.CurrentPrice, final.LeaderID, final.LeaderAlias, final.LeaderMax, final.BidCount, final.Seq, final.EndsAt.Format(time.StampMicro),
				r.Status, r.CurrentPrice, r.LeaderID, r.LeaderAlias, r.LeaderMax, r.BidCount, r.Seq, r.EndsAt.Format(time.StampMicro))
		}
	}
	return p.result(fmt.Sprintf("%d auctions, %d bids replayed through the rules: same state", len(ev.Auctions), bids))
}

func checkOutbox(ev *Evidence) (bool, string) {
	if ev.DB.Unpublished > 0 {
		return false, fmt.Sprintf("%d events still unpublished", ev.DB.Unpublished)
	}
	return true, fmt.Sprintf("all %d events published", len(ev.DB.Events))
}

func checkStream(ev *Evidence) (bool, string) {
	var p problems
	want := map[string][]string{} // channel → event ids in seq order
	byID := map[string]EventRow{}
	for _, e := range ev.DB.Events {
		byID[e.EventID] = e
	}
	rows := append([]EventRow(nil), ev.DB.Events...)
	sort.SliceStable(rows, func(i, j int) bool {
		return rows[i].Channel < rows[j].Channel || rows[i].Channel == rows[j].Channel && rows[i].Seq < rows[j].Seq
	})
	for _, e := range rows {
		want[e.Channel] = append(want[e.Channel], e.EventID)
	}
	got := map[string][]string{}
	seen := map[string]uint64{}
	for _, m := range ev.Stream {
		// Identity is the payload's event id: a copy under another
		// Nats-Msg-Id is a duplicate all the same.
		if first, dup := seen[m.EventID]; dup {
			p.add("event %s is in the stream twice (stream seq %d and %d)", m.EventID, first, m.Seq)
			continue
		}
		seen[m.EventID] = m.Seq
		if _, ok := byID[m.EventID]; !ok || m.MsgID != m.EventID {
			p.add("stream seq %d holds event %s (Nats-Msg-Id %s), which is not in the outbox", m.Seq, m.EventID, m.MsgID)
		}
		got[m.Channel] = append(got[m.Channel], m.EventID)
	}
	for ch, ids := range want {
		g := got[ch]
		for i, id := range ids {
			switch {
			case i >= len(g):
				p.add("%s: event %s missing from the stream", ch, id)
			case g[i] != id:
				p.add("%s: position %d of the stream holds %s, the outbox %s (missing or out of order)", ch, i+1, g[i], id)
			default:
				continue
			}
			break
		}
	}
	return p.result(fmt.Sprintf("%d events on %d channels, each channel in commit order", len(ev.Stream), len(want)))
}

func checkWatchers(ev *Evidence) (bool, string) {
	var p problems
	final := map[int64]int64{}
	for id, a := range ev.DB.Auctions {
		final[id] = a.Seq
	}
	events, moves := 0, 0
	for _, w := range ev.Watchers {
		moves += w.Moves
		last := map[int64]int64{}
		for i, g := range w.Got {
			events++
			prev, started := last[g.Auction]
			switch {
			case !started:
			case g.Type == string(domain.EventSnapshot):
				p.add("%s: auction %d started over (snapshot at seq %d after %d): the resume lost its place", w.Name, g.Auction, g.Seq, prev)
			case g.Seq == prev:
				p.add("%s: auction %d seq %d twice (event %d)", w.Name, g.Auction, g.Seq, i)
			case g.Seq < prev:
				p.add("%s: auction %d seq %d after %d: out of order", w.Name, g.Auction, g.Seq, prev)
			case g.Seq > prev+1:
				p.add("%s: auction %d jumped from seq %d to %d: %d missing", w.Name, g.Auction, prev, g.Seq, g.Seq-prev-1)
			}
			last[g.Auction] = g.Seq
		}
		for _, a := range w.Auctions {
			if last[a] != final[a] {
				p.add("%s: auction %d ended at seq %d for the watcher, %d in the database", w.Name, a, last[a], final[a])
			}
		}
	}
	if moves == 0 {
		p.add("no watcher moved between realtime nodes: resumption was not tested")
	}
	return p.result(fmt.Sprintf("%d watchers, %d events, %d moves between nodes with Last-Event-ID", len(ev.Watchers), events, moves))
}

func checkClosed(ev *Evidence) (bool, string) {
	var p problems
	type count struct{ db, js int }
	closed := map[string]*count{}
	lastSeq := map[string]int64{}
	closedSeq := map[string]int64{}
	for _, e := range ev.DB.Events {
		if e.Seq > lastSeq[e.Channel] {
			lastSeq[e.Channel] = e.Seq
		}
		if e.Type == string(domain.EventClosed) {
			if closed[e.Channel] == nil {
				closed[e.Channel] = &count{}
			}
			closed[e.Channel].db++
			closedSeq[e.Channel] = e.Seq
		}
	}
	for _, m := range ev.Stream {
		if m.Type == string(domain.EventClosed) {
			if closed[m.Channel] == nil {
				closed[m.Channel] = &count{}
			}
			closed[m.Channel].js++
		}
	}
	for _, id := range ev.Auctions {
		ch := fmt.Sprintf("%s:%d", domain.ChannelAuction, id)
		c := closed[ch]
		switch {
		case ev.DB.Auctions[id].Status != domain.StatusClosed:
			p.add("auction %d is %s", id, ev.DB.Auctions[id].Status)
		case c == nil || c.db != 1 || c.js != 1:
			n := count{}
			if c != nil {
				n = *c
			}
			p.add("auction %d has %d closed events in the outbox and %d in the stream", id, n.db, n.js)
		case closedSeq[ch] != lastSeq[ch]:
			p.add("auction %d has events after its close (seq %d > %d)", id, lastSeq[ch], closedSeq[ch])
		}
	}
	return p.result(fmt.Sprintf("%d auctions, one closed event each", len(ev.Auctions)))
}

func check5xx(ev *Evidence) (bool, string) {
	var p problems
	n503, retries := 0, 0
	for _, r := range ev.Requests {
		switch {
		case r.StreamRetry:
			retries++
		case r.Status == 503 && r.Kind == "stream":
			p.add("stream on %s answered 503: EventSource would give up for good", r.Node)
		case r.Status == 503 && r.RetryAfter == "":
			p.add("%s on %s: 503 without Retry-After", r.Kind, r.Node)
		case r.Status == 503:
			n503++
		case r.Status >= 500:
			p.add("%s on %s at %s: %d %s", r.Kind, r.Node, r.Start.Format("15:04:05.000"), r.Status, r.Code)
		}
	}
	return p.result(fmt.Sprintf("%d requests; %d answered 503 with Retry-After; %d streams told to retry later; no other 5xx", len(ev.Requests), n503, retries))
}

// stalled reports whether node could not answer at some time in [from, to]:
// it was paused or killed then.
func stalled(ev *Evidence, node string, from, to time.Time) bool {
	for _, f := range ev.Faults {
		heal := f.Heal
		if heal.IsZero() {
			heal = ev.End
		}
		for _, s := range f.Stalls {
			if s == node && from.Before(heal.Add(time.Second)) && to.After(f.Start) {
				return true
			}
		}
	}
	return false
}

func checkBound(ev *Evidence) (bool, string) {
	var p problems
	limit := ev.Bound + waitSlack
	var longest time.Duration
	excluded := 0
	for _, r := range ev.Requests {
		if r.Kind == "stream" && r.Status == 200 && !r.StreamRetry {
			continue // a stream's life is not a wait
		}
		if stalled(ev, r.Node, r.Start, r.End) {
			excluded++
			continue
		}
		d := r.Took()
		longest = max(longest, d)
		if d > limit {
			p.add("%s on %s at %s waited %s (status %d %s)", r.Kind, r.Node, r.Start.Format("15:04:05.000"), d.Round(time.Millisecond), r.Status, r.Err)
		}
	}
	return p.result(fmt.Sprintf("longest wait %s, bound %s + %s slack (%d requests to a stalled node not counted)",
		longest.Round(time.Millisecond), ev.Bound, waitSlack, excluded))
}
