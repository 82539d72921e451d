package domain_test

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// saleSim drives a cascade-mode sale through random bids, pauses and
// resumes the way the store and the scheduler do: a bid goes through
// PlaceBid and then Cascade over the later lots, and due lots close in
// (end, lot number) order while the sale is not paused.
type saleSim struct {
	t      *testing.T
	rng    *rand.Rand
	sale   domain.Sale
	lots   []domain.Auction // in lot order
	now    time.Time
	closed []int // lot numbers in closing order
}

func (m *saleSim) unclosed() int {
	n := 0
	for _, a := range m.lots {
		if a.Unclosed() {
			n++
		}
	}
	return n
}

func (m *saleSim) closeDue() {
	if m.sale.Paused() {
		return
	}
	idx := make([]int, 0, len(m.lots))
	for i, a := range m.lots {
		if a.Unclosed() && !m.now.Before(a.EndsAt) {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(i, j int) int {
		if c := m.lots[i].EndsAt.Compare(m.lots[j].EndsAt); c != 0 {
			return c
		}
		return cmp.Compare(m.lots[i].LotNumber, m.lots[j].LotNumber)
	})
	for _, i := range idx {
		next, _, ok := domain.Close(m.lots[i], m.now)
		if !ok {
			m.t.Fatalf("lot %d due at %v did not close at %v", m.lots[i].LotNumber, m.lots[i].EndsAt, m.now)
		}
		m.lots[i] = next
		m.closed = append(m.closed, next.LotNumber)
		m.sale, _ = domain.SaleProgress(m.sale, len(m.closed), m.unclosed(), m.now)
	}
}

func (m *saleSim) bid() {
	i := m.rng.IntN(len(m.lots))
	a := m.lots[i]
	bidder := alice + m.rng.Int64N(3)
	req := domain.BidRequest{BidderID: bidder, Alias: aliasOf(bidder), Amount: domain.MinNextBid(a)}
	if err := domain.CheckSaleBid(m.sale); err != nil {
		return
	}
	out, err := domain.PlaceBid(a, req, m.now)
	if err != nil {
		return // closed, ended, own lead: refused as in production
	}
	m.lots[i] = out.Auction
	moved, _ := domain.Cascade(m.sale, out.Auction, a.EndsAt, slices.Clone(m.lots[i+1:]), m.now)
	for _, mv := range moved {
		for j := range m.lots {
			if m.lots[j].ID == mv.ID {
				m.lots[j] = mv
			}
		}
	}
}

func (m *saleSim) togglePause() {
	var changed []domain.Auction
	var err error
	if m.sale.Paused() {
		m.sale, changed, _, err = domain.ResumeSale(m.sale, m.lots, m.now)
	} else {
		m.sale, changed, _, err = domain.PauseSale(m.sale, m.lots, m.now)
	}
	if err != nil {
		return // closed already
	}
	for _, c := range changed {
		for j := range m.lots {
			if m.lots[j].ID == c.ID {
				m.lots[j] = c
			}
		}
	}
}

// checkGaps asserts that lot j ends at least (j−i) gaps after lot i for
// every pair of lots in lot order, and returns the consecutive gaps.
func (m *saleSim) checkGaps(step int) []time.Duration {
	gaps := make([]time.Duration, len(m.lots)-1)
	for i := 1; i < len(m.lots); i++ {
		gaps[i-1] = m.lots[i].EndsAt.Sub(m.lots[i-1].EndsAt)
		if gaps[i-1] < m.sale.Gap() {
			m.t.Fatalf("step %d: lots %d and %d end %v apart, under the %v gap", step,
				m.lots[i-1].LotNumber, m.lots[i].LotNumber, gaps[i-1], m.sale.Gap())
		}
	}
	return gaps
}

// TestCascadeProperties: in cascade mode, whatever the bids, pauses and
// resumes, lots close in lot order and no gap ever falls under the
// scheduled gap; with no cap reached, no gap ever shrinks at all.
func TestCascadeProperties(t *testing.T) {
	t.Parallel()
	for seed := range uint64(400) {
		rng := rand.New(rand.NewPCG(seed, 14))
		n, gap, soft := 2+rng.IntN(10), rng.IntN(4), rng.IntN(8)
		s, lots := saleWithLots(t, domain.SoftCloseCascade, n, gap, soft)
		// The cap is the same for every lot, as the store sets it: with
		// caps that differ, a capped lot could fall behind an earlier one.
		capped := rng.IntN(2) == 0
		limit := time.Duration(rng.IntN(20)) * time.Second
		for i := range lots {
			if capped {
				lots[i].MaxExtension = limit
			}
		}
		m := &saleSim{t: t, rng: rng, sale: s, lots: lots, now: s.OpensAt}
		// Start close to the first end, so soft closes and closes mix.
		m.now = lots[0].EndsAt.Add(-time.Duration(rng.IntN(10)) * time.Second)
		prev := m.checkGaps(0)
		for step := 1; m.unclosed() > 0; step++ {
			if step > 5000 {
				t.Fatalf("seed %d: the sale never finished", seed)
			}
			m.now = m.now.Add(time.Duration(rng.IntN(1500)) * time.Millisecond)
			m.closeDue()
			switch {
			case rng.IntN(25) == 0 || (m.sale.Paused() && rng.IntN(4) == 0):
				m.togglePause()
			default:
				for range rng.IntN(4) {
					m.bid()
				}
			}
			gaps := m.checkGaps(step)
			if !capped {
				for i := range gaps {
					if gaps[i] < prev[i] {
						t.Fatalf("seed %d step %d: the gap after lot %d shrank from %v to %v", seed, step, m.lots[i].LotNumber, prev[i], gaps[i])
					}
				}
			}
			prev = gaps
		}
		want := make([]int, n)
		for i := range want {
			want[i] = (i + 1) * 10
		}
		if !slices.Equal(m.closed, want) {
			t.Fatalf("seed %d: lots closed in order %v, want %v", seed, m.closed, want)
		}
		if m.sale.Status != domain.SaleClosed {
			t.Fatalf("seed %d: sale ends %s", seed, m.sale.Status)
		}
	}
}
