package salebench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/domain"
)

// bid places one bid in-process and records its commit: as a cascade
// (the lot's end moved and later lots with it), a bid in the sale that
// moved nothing, or a bid on the single listing.
func (r *run) bid(ctx context.Context, u domain.User, a domain.Auction, amount int64) (domain.Receipt, bool) {
	rc, _, err := r.timedBid(ctx, u, a, amount)
	return rc, err == nil
}

// timedBid is bid, with the bid's times and error. A bid's commit is its
// batch's transaction (bidding.BidTrace), which is what the rows of the
// report time. A bid that arrives while an earlier batch on its lot
// commits waits for that batch first; acked, from placing the bid to its
// receipt, includes the wait, and the report gives it for the cascades.
func (r *run) timedBid(ctx context.Context, u domain.User, a domain.Auction, amount int64) (domain.Receipt, bidding.BidTrace, error) {
	var tr bidding.BidTrace
	began := time.Now()
	rc, err := r.env.Svc.PlaceBid(bidding.WithBidTrace(ctx, &tr), u, a.ID, domain.BidInput{Amount: amount})
	acked := time.Since(began)
	res := &r.results
	if err != nil {
		res.mu.Lock()
		res.refused[string(domain.ErrorCode(err))]++
		res.mu.Unlock()
		return rc, tr, err
	}
	res.mu.Lock()
	res.acked++
	res.mu.Unlock()
	took := tr.Batch
	switch {
	case a.SaleID == 0:
		res.add(&res.singleBid, took)
	case rc.EndsAt.After(a.EndsAt) && a.LotNumber < len(r.lots):
		later := len(r.lots) - a.LotNumber
		res.add(&res.cascade, took)
		if later*10 >= len(r.lots)*9 {
			res.add(&res.cascadeFull, took)
			res.add(&res.fullAcked, acked)
			if r.sniping.Load() {
				res.add(&res.fullSnipe, took)
			} else {
				res.add(&res.fullProbe, took)
			}
		}
		res.mu.Lock()
		res.movedMax = max(res.movedMax, later)
		res.mu.Unlock()
	default:
		res.add(&res.saleBid, took)
	}
	return rc, tr, nil
}

// probe measures cascades over (nearly) every lot: just before lot 1
// closes, two bidders outbid each other on it inside its soft close, so
// that every bid extends it and moves all the later lots. Between them,
// bids on a lot far from its end and on the single listing give the
// same-run baselines. On a machine so loaded that a round takes longer
// than the soft close, lot 1 closes under the probe, which goes on with
// the next lot: each of the first tenth moves at least 90% of the lots.
func (r *run) probe(ctx context.Context) error {
	k := 0
	far := r.lots[len(r.lots)/2]
	soft := time.Duration(r.o.SoftClose) * time.Second
	r.logf("probe: %d cascades on lot 1 in %s", r.o.Probes, (time.Until(r.lots[0].EndsAt) - soft + 400*time.Millisecond).Round(time.Second))
	for i := 0; i < r.o.Probes; {
		cur, err := r.env.Svc.Auction(ctx, r.lots[k].ID)
		if err != nil {
			return err
		}
		if cur.Status != domain.StatusOpen && cur.Status != domain.StatusScheduled {
			if k++; k >= max(1, len(r.lots)/10) {
				// The report shows how few cascades there were.
				r.logf("probe: the first %d lots closed after %d cascades; the machine is too slow for a %s soft close", k, i, soft)
				return nil
			}
			r.logf("probe: lot %d closed after %d cascades; going on with lot %d", k, i, k+1)
			continue
		}
		// Outside its soft close a bid would not extend the lot: wait
		// until it is 400 ms inside. Inside, bid at once.
		if left := time.Until(cur.EndsAt); left > soft {
			if err := sleep(ctx, left-soft+400*time.Millisecond); err != nil {
				return err
			}
			continue
		}
		if err := errors.Join(r.startTrace(), r.startWaits(ctx)); err != nil {
			return err
		}
		r.bid(ctx, r.users[i%2], cur, domain.MinNextBid(cur))
		if i%2 == 0 {
			for _, id := range []int64{far.ID, r.single.ID} {
				a, err := r.env.Svc.Auction(ctx, id)
				if err != nil {
					return err
				}
				r.bid(ctx, r.users[2+i%4], a, domain.MinNextBid(a))
			}
		}
		i++
		// About ten cascades a second: the lot stays inside its soft close,
		// each bid moving it (and every later lot) by about 100 ms.
		if err := sleep(ctx, 80*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// snipe follows the lot closing now to the end of the sale: as each lot
// becomes the next to close, a bid or two on the lot two places behind it
// (outside its soft close, so nothing moves), and on every SnipeEvery-th
// lot a snipe in its last 400 ms, which extends it and cascades over the
// lots after it.
func (r *run) snipe(ctx context.Context) error {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 14))
	var wg sync.WaitGroup
	defer wg.Wait()
	fire := func(a domain.Auction, n int, snipe bool) {
		for k := range n {
			u := r.users[rng.IntN(len(r.users))]
			amount := domain.MinNextBid(a) + int64(k)*domain.IncrementAt(a, a.CurrentPrice)
			wg.Go(func() {
				rc, tr, err := r.timedBid(ctx, u, a, amount)
				if snipe {
					r.results.addSnipe(snipeBid{lot: a.LotNumber, of: n, trace: tr, moved: err == nil && rc.EndsAt.After(a.EndsAt), err: err})
				}
			})
		}
	}
	r.logf("sniping %d lots", len(r.lots))
	r.sniping.Store(true)
	defer r.waitClosed(ctx)
	for i, lot := range r.lots {
		pre, sniped := false, false
		for {
			a, err := r.env.Svc.Auction(ctx, lot.ID)
			if err != nil {
				return err
			}
			left := time.Until(a.EndsAt)
			if (a.Status != domain.StatusOpen && a.Status != domain.StatusScheduled) || left <= 0 {
				break // the next lot is the one closing now
			}
			switch {
			case !pre && i+2 < len(r.lots):
				pre = true
				b, err := r.env.Svc.Auction(ctx, r.lots[i+2].ID)
				if err != nil {
					return err
				}
				if time.Until(b.EndsAt) > time.Duration(r.o.SoftClose)*time.Second+300*time.Millisecond {
					fire(b, 1+rng.IntN(2), false)
				}
			case !sniped && (i+1)%r.o.SnipeEvery == 0 && left < 400*time.Millisecond && left > 50*time.Millisecond:
				sniped = true
				fire(a, 1+rng.IntN(2), true)
			}
			if err := sleep(ctx, 20*time.Millisecond); err != nil {
				return err
			}
		}
		if i%50 == 49 {
			r.logf("lot %d ended", i+1)
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// waitClosed waits until the scheduler has closed every lot.
func (r *run) waitClosed(ctx context.Context) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var open int64
		r.env.DB.WithContext(ctx).Raw("SELECT COUNT(*) FROM auctions WHERE sale_id = ? AND status IN ('scheduled', 'open')", r.sale.ID).Scan(&open)
		if open == 0 || sleep(ctx, 200*time.Millisecond) != nil {
			return
		}
	}
}

// snipeBid is one bid of a snipe, for the report's list of them: which
// lot, how many bids the snipe fired at once, where the bid's time went,
// and whether it moved the lot's end.
type snipeBid struct {
	lot, of int
	trace   bidding.BidTrace
	moved   bool
	err     error
}

func (r *results) addSnipe(b snipeBid) {
	r.mu.Lock()
	r.snipes = append(r.snipes, b)
	r.mu.Unlock()
}

// snipeList renders the snipes' bids in lot order, each as its batch's
// commit and any wait before it: "lot 5 (2 at once): 14.2 ms, 13.1 ms
// after 14.6 ms queued". A snipe's bids are placed at the same instant;
// where they did not share a batch, the later one waited for the other's.
func snipeList(bids []snipeBid) string {
	slices.SortStableFunc(bids, func(a, b snipeBid) int {
		return cmp.Or(cmp.Compare(a.lot, b.lot), cmp.Compare(a.trace.Queued, b.trace.Queued))
	})
	var sb strings.Builder
	for i, b := range bids {
		if i == 0 || bids[i-1].lot != b.lot {
			if i > 0 {
				sb.WriteString("; ")
			}
			fmt.Fprintf(&sb, "lot %d (%d at once): ", b.lot, b.of)
		} else {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "%.1f ms", float64(b.trace.Batch.Microseconds())/1000)
		if b.trace.Queued >= time.Millisecond {
			fmt.Fprintf(&sb, " after %.1f ms queued", float64(b.trace.Queued.Microseconds())/1000)
		}
		switch {
		case b.err != nil:
			fmt.Fprintf(&sb, " refused (%s)", domain.ErrorCode(b.err))
		case !b.moved:
			sb.WriteString(" moved nothing")
		}
	}
	return sb.String()
}
