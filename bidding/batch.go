package bidding

import (
	"cmp"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

type idemKey struct {
	user int64
	key  string
}

type aliasKey struct{ auction, user int64 }

// bidKey names a bid by its auction and its seq there, which is how the
// events a bid causes refer to it before the bid has an id.
type bidKey struct{ auction, seq int64 }

// batchState is what judging a batch needs besides the auction rows:
// suspensions, aliases and earlier receipts, read in the batch's
// transaction.
type batchState struct {
	suspended map[int64]bool
	aliases   map[aliasKey]string
	receipts  map[idemKey]storedIdem
	// sales holds the sales of the lots bid on, locked: a paused sale
	// refuses bids, and a cascade-mode one moves its later lots.
	sales map[int64]domain.Sale
	// laterFrom maps a cascade-mode sale to the lot number after which
	// its unclosed lots are locked with the batch; allLater says they all
	// are, for every sale. A bid that extends a lot whose later lots are
	// not locked must not move them (batch_pg.go, errLaterLots).
	laterFrom map[int64]int
	allLater  bool
}

// errLaterLots ends a batch's attempt in which a bid extended a lot of a
// cascade-mode sale whose later lots the batch had not locked; the batch
// runs again with them locked.
var errLaterLots = errors.New("bidding: a cascade needs later lots the batch did not lock")

// laterLocked reports whether the unclosed lots after lot n of sale are
// locked with the batch.
func (st batchState) laterLocked(sale int64, n int) bool {
	from, ok := st.laterFrom[sale]
	return st.allLater || (ok && from <= n)
}

// latestReceipt is the latest receipt time of a batch's bids: no bid of
// the batch is judged later than that.
func latestReceipt(batch []*bidCall) time.Time {
	var t time.Time
	for _, c := range batch {
		if c.receivedAt.After(t) {
			t = c.receivedAt
		}
	}
	return t
}

// storedIdem is what an Idempotency-Key recorded: the receipt it answered
// with and the fingerprint of the request it answered.
type storedIdem struct {
	receipt domain.Receipt
	request string // "" for keys recorded before fingerprints existed
}

func newBatchState() batchState {
	return batchState{suspended: map[int64]bool{}, aliases: map[aliasKey]string{}, receipts: map[idemKey]storedIdem{},
		sales: map[int64]domain.Sale{}, laterFrom: map[int64]int{}}
}

// batchKeys lists, without repeats, what a batch touches, in arrival order.
type batchKeys struct {
	auctions []int64
	// tops, parallel to auctions, is the largest amount the batch bids on
	// each (math.MaxInt64 for a buy-it-now): a bid no larger than a lot's
	// price cannot extend it, so it needs none of the later lots locked
	// (stmtLockAuctions).
	tops    []int64
	users   []int64
	aliases []aliasKey
	idem    []idemKey
}

func keysOf(batch []*bidCall) batchKeys {
	var k batchKeys
	seenU := make(map[int64]bool, len(batch))
	seenAlias, seenIdem := make(map[aliasKey]bool, len(batch)), map[idemKey]bool{}
	topAt := make(map[int64]int, len(batch))
	for _, c := range batch {
		top := c.in.Amount
		if c.in.BuyNow {
			top = math.MaxInt64
		}
		if i, seen := topAt[c.auctionID]; seen {
			k.tops[i] = max(k.tops[i], top)
		} else {
			topAt[c.auctionID] = len(k.auctions)
			k.auctions = append(k.auctions, c.auctionID)
			k.tops = append(k.tops, top)
		}
		if !seenU[c.bidder.ID] {
			seenU[c.bidder.ID] = true
			k.users = append(k.users, c.bidder.ID)
		}
		if ak := (aliasKey{c.auctionID, c.bidder.ID}); !seenAlias[ak] {
			seenAlias[ak] = true
			k.aliases = append(k.aliases, ak)
		}
		if c.in.IdempotencyKey != "" {
			if ik := (idemKey{c.bidder.ID, c.in.IdempotencyKey}); !seenIdem[ik] {
				seenIdem[ik] = true
				k.idem = append(k.idem, ik)
			}
		}
	}
	return k
}

// batchPlan is the outcome of judging a batch in memory: what to answer
// each caller and what the transaction must write.
type batchPlan struct {
	results []bidResult
	// dupOf maps a bid to an earlier one in the same batch with the same
	// Idempotency-Key; it is answered with that bid's receipt after commit.
	dupOf map[int]int
	// accepted holds the batch indexes of the accepted bids, parallel to
	// bids.
	accepted   []int
	bids       []bidRow
	autos      []autoBidRow // the automatic bids the accepted bids caused
	bidIndex   map[bidKey]int
	newBidders []bidderRow
	// events are the auction-channel events and personal the users' ones,
	// in the order the rule produced them. They are apart because on
	// PostgreSQL personal events are written last (batch_pg.go).
	events   []domain.Event
	personal []domain.Event
	touched  []domain.Auction
	// moved holds the touched lots that only a cascade changed (no bid of
	// the batch is on them): their writes keep the end floor, so that on
	// PostgreSQL they change no indexed column (migration 00016).
	moved map[int64]bool
	// shifts are the batch's cascades, in the order judged, and
	// shiftedTwice says some sale cascaded more than once, whose moves
	// queueShifts then leaves to stmtSaveMoves (cascade_pg.go).
	shifts       []cascadeShift
	shiftedTwice bool
	// laterLotsMissing says judging stopped at a bid that extends a lot
	// whose later lots are not locked: the plan is incomplete and must not
	// be written (errLaterLots).
	laterLotsMissing bool
}

// applyBatch judges every bid of a batch in arrival order through the pure
// rule, against the locked auctions and st, and plans the writes. It
// updates auctions and st as it goes, so each bid sees the ones before it.
func applyBatch(batch []*bidCall, auctions map[int64]domain.Auction, st batchState, now time.Time) *batchPlan {
	p := &batchPlan{
		results:  make([]bidResult, len(batch)),
		dupOf:    map[int]int{},
		accepted: make([]int, 0, len(batch)),
		bids:     make([]bidRow, 0, len(batch)),
		bidIndex: make(map[bidKey]int, len(batch)),
	}
	select {
	case b := <-planBufs:
		p.events, p.touched = b.events, b.touched
	default:
	}
	p.events = slices.Grow(p.events, len(batch))
	// changed maps each auction the batch changes to whether a bid of the
	// batch is on it (false: only a cascade moved it).
	changed := make(map[int64]bool, len(auctions))
	var firstUse map[idemKey]int
	var lots *saleLots
	defer func() {
		if lots != nil {
			lots.release()
		}
	}()
	for i, c := range batch {
		a, ok := auctions[c.auctionID]
		if !ok {
			p.results[i].err = domain.ErrAuctionNotFound
			continue
		}
		sale, inSale := st.sales[a.SaleID]
		if a.SaleID != 0 {
			if !inSale {
				p.results[i].err = domain.ErrSaleNotFound
				continue
			}
			a.PausedAt = sale.PausedAt
		}
		if c.in.IdempotencyKey != "" {
			k := idemKey{c.bidder.ID, c.in.IdempotencyKey}
			if stored, ok := st.receipts[k]; ok {
				if stored.receipt.AuctionID != c.auctionID || (stored.request != "" && stored.request != c.fingerprint()) {
					p.results[i].err = domain.ErrIdempotencyKey
				} else {
					p.results[i].receipt = stored.receipt
				}
				continue
			}
			if j, ok := firstUse[k]; ok {
				if batch[j].fingerprint() != c.fingerprint() {
					p.results[i].err = domain.ErrIdempotencyKey
				} else {
					p.dupOf[i] = j
				}
				continue
			}
			if firstUse == nil {
				firstUse = map[idemKey]int{}
			}
			firstUse[k] = i
		}
		if st.suspended[c.bidder.ID] {
			p.results[i].err = domain.ErrSuspended
			continue
		}
		if inSale {
			if err := domain.CheckSaleBid(sale); err != nil {
				p.results[i].err = err
				continue
			}
		}
		ak := aliasKey{c.auctionID, c.bidder.ID}
		alias, known := st.aliases[ak]
		if !known {
			alias = "Bidder " + strconv.Itoa(a.BidderCount+1)
		}
		out, err := domain.PlaceBid(a, domain.BidRequest{
			BidderID: c.bidder.ID, Alias: alias, Amount: c.in.Amount, MaxAmount: c.in.MaxAmount, BuyNow: c.in.BuyNow,
		}, c.receivedAt)
		if err != nil {
			p.results[i].err = err
			continue
		}
		if !known {
			out.Auction.BidderCount++
			st.aliases[ak] = alias
			p.newBidders = append(p.newBidders, bidderRow{AuctionID: c.auctionID, UserID: c.bidder.ID, Alias: alias})
		}
		prevEnd := a.EndsAt
		a = out.Auction
		a.UpdatedAt = now
		auctions[c.auctionID] = a
		changed[c.auctionID] = true
		cascades := inSale && sale.SoftCloseMode == domain.SoftCloseCascade && a.EndsAt.After(prevEnd) && a.Status != domain.StatusClosed
		// The later lots are locked with the batch (batch_pg.go's
		// stmtLockAuctions); the move commits with the bid.
		if cascades && !st.laterLocked(a.SaleID, a.LotNumber) {
			p.laterLotsMissing = true
			return p
		}
		b := out.Bid
		p.bidIndex[bidKey{c.auctionID, b.Seq}] = len(p.bids)
		p.bids = append(p.bids, bidRow{AuctionID: c.auctionID, BidderID: b.BidderID, Amount: b.Amount, MaxAmount: b.MaxAmount,
			BuyNow: b.BuyNow, Raised: b.Raise, Seq: b.Seq, ReceivedAt: b.ReceivedAt})
		if len(out.Auto) > 0 {
			p.autos = append(p.autos, autoBidRows(c.auctionID, b.Seq, out.Auto)...)
		}
		p.events = slices.Grow(p.events, len(out.Events))
		for _, e := range out.Events {
			e.CommittedAt = now
			if e.Type.Personal() {
				p.personal = append(p.personal, e)
			} else {
				p.events = append(p.events, e)
			}
		}
		if cascades {
			// The cascade's events follow the bid's own; none is personal.
			if lots == nil {
				lots = newSaleLots(auctions)
			}
			from := len(p.events)
			var moved []domain.Auction
			moved, p.events = domain.AppendCascade(p.events, sale, a, prevEnd, lots.after(auctions, a), now)
			if len(moved) > 0 {
				p.noteShift(cascadeShift{saleID: a.SaleID, after: a.LotNumber, by: a.EndsAt.Sub(prevEnd), at: now})
			}
			for k := range moved {
				m := &moved[k]
				auctions[m.ID] = *m
				if _, seen := changed[m.ID]; !seen {
					changed[m.ID] = false
				}
			}
			for k := from; k < len(p.events); k++ {
				p.events[k].CommittedAt = now
			}
		}
		p.results[i].receipt = domain.Receipt{
			AuctionID: c.auctionID, Amount: b.Amount, MaxAmount: b.MaxAmount, Currency: a.Currency, Seq: b.Seq,
			ReceivedAt: b.ReceivedAt, Leading: out.Leading, CurrentPrice: a.CurrentPrice,
			MinNextBid: domain.MinNextBid(a), EndsAt: a.EndsAt, Status: a.Status,
		}
		// What the bidder would pay at the amount they bid, judged with the
		// lot's own fee schedule, read with the auction under its lock.
		est := a.Terms().Estimate(b.Amount)
		p.results[i].receipt.EstimatedTotal, p.results[i].receipt.Estimate = est.Total, &est
		p.accepted = append(p.accepted, i)
	}
	p.touched = slices.Grow(p.touched, len(changed))
	for id, bidOn := range changed {
		p.touched = append(p.touched, auctions[id])
		if !bidOn {
			if p.moved == nil {
				p.moved = make(map[int64]bool, len(changed))
			}
			p.moved[id] = true
		}
	}
	return p
}

// planBuf is the storage of a plan's events and touched lots, kept
// between batches by planBufs: a 500-lot cascade fills ~500 KB of them,
// which would otherwise be allocated, zeroed and collected for every such
// bid.
type planBuf struct {
	events  []domain.Event
	touched []domain.Auction
}

// planBufs is a free list rather than a sync.Pool, which every collection
// empties: at a cascade's rate of allocation that is every few bids.
var planBufs = make(chan planBuf, 2)

// maxPlanBuf is the most events or lots a plan's storage may hold and be
// kept (~1 MB of both): a bigger sale's is left to the collector.
const maxPlanBuf = 1024

// recycle hands p's events and touched lots to the next batch, cleared so
// that they keep nothing alive, and drops them from p. Call it once the
// batch has committed and they are written: nothing may read them after.
func (p *batchPlan) recycle() {
	b := planBuf{p.events[:0], p.touched[:0]}
	p.events, p.touched = nil, nil
	if cap(b.events) > maxPlanBuf || cap(b.touched) > maxPlanBuf {
		return
	}
	clear(b.events[:cap(b.events)])
	clear(b.touched[:cap(b.touched)])
	select {
	case planBufs <- b:
	default:
	}
}

// saleLots indexes the lots among a batch's auctions by sale and lot
// number, for cascades.
type saleLots struct {
	refs []lotRef // sorted by sale, then lot number
	// buf holds the lots that after copies out for a cascade, reused by
	// the next one and, through lotBufs, by the next batch.
	buf []domain.Auction
}

// lotRef locates a lot: lot numbers never change in a batch.
type lotRef struct {
	sale int64
	n    int
	id   int64
}

// lotBufs keeps the buffers that cascades copy lots into: a 500-lot
// cascade needs ~200 KB, which would otherwise be allocated, zeroed and
// collected for every such bid. A channel rather than a sync.Pool: a pool
// is emptied by every collection, which at a cascade's rate of allocation
// comes every few bids.
var lotBufs = make(chan []domain.Auction, 2)

// maxLotBuf is the largest buffer lotBufs keeps (~850 KB): one for a
// bigger sale is left to the collector.
const maxLotBuf = 2048

func newSaleLots(auctions map[int64]domain.Auction) *saleLots {
	refs := make([]lotRef, 0, len(auctions))
	for id, a := range auctions {
		if a.SaleID != 0 {
			refs = append(refs, lotRef{a.SaleID, a.LotNumber, id})
		}
	}
	slices.SortFunc(refs, func(x, y lotRef) int { return cmp.Or(cmp.Compare(x.sale, y.sale), cmp.Compare(x.n, y.n)) })
	l := &saleLots{refs: refs}
	select {
	case l.buf = <-lotBufs:
	default:
	}
	return l
}

// after returns the current state of the lots of a's sale numbered above
// it, in lot order, in a buffer that the next call reuses.
func (l *saleLots) after(auctions map[int64]domain.Auction, a domain.Auction) []domain.Auction {
	i, _ := slices.BinarySearchFunc(l.refs, lotRef{sale: a.SaleID, n: a.LotNumber + 1}, func(r, t lotRef) int {
		return cmp.Or(cmp.Compare(r.sale, t.sale), cmp.Compare(r.n, t.n))
	})
	j := i
	for j < len(l.refs) && l.refs[j].sale == a.SaleID {
		j++
	}
	l.buf = slices.Grow(l.buf[:0], j-i)
	for _, r := range l.refs[i:j] {
		l.buf = append(l.buf, auctions[r.id])
	}
	return l.buf
}

// release hands the buffer back for another batch, cleared so that it
// keeps nothing alive.
func (l *saleLots) release() {
	if l.buf == nil || cap(l.buf) > maxLotBuf {
		return
	}
	clear(l.buf[:cap(l.buf)])
	select {
	case lotBufs <- l.buf[:0]:
	default:
	}
	l.buf = nil
}

// setBidIDs copies the ids the database gave p.bids onto their receipts and
// onto the events they caused.
func (p *batchPlan) setBidIDs() {
	for k, i := range p.accepted {
		p.results[i].receipt.BidID = p.bids[k].ID
	}
	for _, events := range [][]domain.Event{p.events, p.personal} {
		for i := range events {
			e := &events[i]
			if e.BidAmount != 0 {
				if k, ok := p.bidIndex[bidKey{e.AuctionID, e.Seq}]; ok {
					e.BidID = p.bids[k].ID
				}
			}
		}
	}
}

// idempotencyRows records the receipts of accepted bids that carried an
// Idempotency-Key. Call it after setBidIDs: a receipt carries its bid id.
func (p *batchPlan) idempotencyRows(batch []*bidCall, now time.Time) []idempotencyRow {
	var rows []idempotencyRow
	for _, i := range p.accepted {
		if key := batch[i].in.IdempotencyKey; key != "" {
			data, _ := json.Marshal(recordedReceipt{Receipt: p.results[i].receipt, Request: batch[i].fingerprint()})
			rows = append(rows, idempotencyRow{UserID: batch[i].bidder.ID, Key: key, AuctionID: batch[i].auctionID, Receipt: string(data), CreatedAt: now})
		}
	}
	return rows
}

// recordedReceipt is the JSON kept under an Idempotency-Key: the receipt
// and, beside it, the fingerprint of the request, so that a retry is told
// apart from a different request that reuses the key.
type recordedReceipt struct {
	domain.Receipt
	Request string `json:"request,omitempty"`
}

// fingerprint identifies what a bid asked for: the whole request, as
// docs/API.md promises, so the same key with another amount, maximum,
// buy-it-now flag or auction is refused rather than answered with the old
// receipt. Buy-it-now ignores the amount, so the fingerprint does too.
func (c *bidCall) fingerprint() string {
	amount, max := c.in.Amount, c.in.MaxAmount
	if c.in.BuyNow {
		amount, max = 0, 0
	}
	return "a" + strconv.FormatInt(c.auctionID, 10) + ";amount=" + strconv.FormatInt(amount, 10) +
		";max=" + strconv.FormatInt(max, 10) + ";buy_now=" + strconv.FormatBool(c.in.BuyNow)
}

// storedReceipt decodes what was recorded under an Idempotency-Key.
func storedReceipt(auctionID int64, data string) (storedIdem, bool) {
	var rc recordedReceipt
	if json.Unmarshal([]byte(data), &rc) != nil {
		return storedIdem{}, false
	}
	rc.AuctionID = auctionID
	return storedIdem{receipt: rc.Receipt, request: rc.Request}, true
}
