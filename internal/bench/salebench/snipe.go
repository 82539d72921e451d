package salebench

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// bid places one bid in-process and records its commit time: as a
// cascade (the lot's end moved and later lots with it), a bid in the sale
// that moved nothing, or a bid on the single listing.
func (r *run) bid(ctx context.Context, u domain.User, a domain.Auction, amount int64) (domain.Receipt, bool) {
	began := time.Now()
	rc, err := r.env.Svc.PlaceBid(ctx, u, a.ID, domain.BidInput{Amount: amount})
	took := time.Since(began)
	res := &r.results
	if err != nil {
		res.mu.Lock()
		res.refused[string(domain.ErrorCode(err))]++
		res.mu.Unlock()
		return rc, false
	}
	res.mu.Lock()
	res.acked++
	res.mu.Unlock()
	switch {
	case a.SaleID == 0:
		res.add(&res.singleBid, took)
	case rc.EndsAt.After(a.EndsAt) && a.LotNumber < len(r.lots):
		later := len(r.lots) - a.LotNumber
		res.add(&res.cascade, took)
		if later*10 >= len(r.lots)*9 {
			res.add(&res.cascadeFull, took)
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
	return rc, true
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
	fire := func(a domain.Auction, n int) {
		for k := range n {
			u := r.users[rng.IntN(len(r.users))]
			amount := domain.MinNextBid(a) + int64(k)*domain.IncrementAt(a, a.CurrentPrice)
			wg.Go(func() { r.bid(ctx, u, a, amount) })
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
					fire(b, 1+rng.IntN(2))
				}
			case !sniped && (i+1)%r.o.SnipeEvery == 0 && left < 400*time.Millisecond && left > 50*time.Millisecond:
				sniped = true
				fire(a, 1+rng.IntN(2))
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
