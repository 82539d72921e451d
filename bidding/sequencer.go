package bidding

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/gavel-auctions/gavel/domain"
)

// maxQueuedBids bounds the bids waiting on one auction in one process; past
// it a bidder is asked to retry rather than letting memory grow.
const maxQueuedBids = 20_000

// batchTimeout bounds one batch transaction. It is not tied to any one
// caller's context because a batch serves many callers.
const batchTimeout = 15 * time.Second

type bidCall struct {
	auctionID  int64
	bidder     domain.User
	in         domain.BidInput
	receivedAt time.Time
	done       chan bidResult
}

type bidResult struct {
	receipt domain.Receipt
	err     error
}

// shard is an in-process queue of bids for the auctions that hash to it.
// While one batch commits, the bids that arrive wait; the next batch takes
// them all, applies them in arrival order in memory and commits them in one
// transaction. One shard per auction keeps that auction's bids in order;
// the auction's row lock still serializes batches from other processes.
// Batches span auctions, so a thousand quiet auctions share commits as
// well as one hot auction does.
type shard struct {
	queue   []*bidCall
	running bool
}

// PlaceBid judges a bid at the server's receipt time and returns its
// receipt once the bid and its events are durably committed.
func (s *Service) PlaceBid(ctx context.Context, bidder domain.User, auctionID int64, in domain.BidInput) (domain.Receipt, error) {
	switch {
	case bidder.ID == 0:
		return domain.Receipt{}, domain.ErrUnauthorized
	case bidder.Suspended:
		return domain.Receipt{}, domain.ErrSuspended
	case len(in.IdempotencyKey) > 200:
		return domain.Receipt{}, domain.Invalid("Idempotency-Key", "The Idempotency-Key must be at most 200 characters.")
	}
	call := &bidCall{auctionID: auctionID, bidder: bidder, in: in, done: make(chan bidResult, 1)}
	q := &s.shards[uint64(auctionID)%uint64(len(s.shards))]

	s.seqMu.Lock()
	if len(q.queue) >= maxQueuedBids {
		s.seqMu.Unlock()
		return domain.Receipt{}, &domain.Error{Code: domain.CodeUnavailable, Message: "Too many bids are waiting. Please try again in a moment."}
	}
	// Stamped under the lock, so receipt order is queue order is apply order.
	call.receivedAt = s.now()
	q.queue = append(q.queue, call)
	start := !q.running
	if start {
		q.running = true
		s.inflight.Add(1)
	}
	s.seqMu.Unlock()
	if start {
		go s.drain(q)
	}

	select {
	case r := <-call.done:
		return r.receipt, r.err
	case <-ctx.Done():
		// The bid may still commit; the caller has gone and will learn the
		// outcome from the stream or a retry with its Idempotency-Key.
		return domain.Receipt{}, ctx.Err()
	}
}

func (s *Service) drain(q *shard) {
	defer s.inflight.Done()
	for {
		s.seqMu.Lock()
		if len(q.queue) == 0 {
			q.running = false
			s.seqMu.Unlock()
			return
		}
		n := min(len(q.queue), s.opts.MaxBatch)
		batch := q.queue[:n:n]
		q.queue = append([]*bidCall(nil), q.queue[n:]...)
		s.seqMu.Unlock()

		results := s.commitBatch(batch)
		for i, c := range batch {
			c.done <- results[i]
		}
	}
}

type idemKey struct {
	user int64
	key  string
}

// commitBatch applies a batch of bids, possibly on several auctions, in one
// transaction.
func (s *Service) commitBatch(batch []*bidCall) []bidResult {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	var (
		results []bidResult
		dupOf   map[int]int
		wrote   bool
	)
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		results = make([]bidResult, len(batch))
		dupOf = map[int]int{}
		wrote = false
		auctions, err := s.lockAuctions(tx, batch)
		if err != nil {
			return err
		}
		st, err := s.loadBatchState(tx, batch)
		if err != nil {
			return err
		}
		now := s.now()
		var (
			bids       []bidRow
			newBidders []bidderRow
			events     []domain.Event
			idem       []idempotencyRow
			accepted   []int
		)
		changed := map[int64]bool{}
		firstUse := map[idemKey]int{}
		for i, c := range batch {
			a, ok := auctions[c.auctionID]
			if !ok {
				results[i].err = domain.ErrAuctionNotFound
				continue
			}
			k := idemKey{c.bidder.ID, c.in.IdempotencyKey}
			if k.key != "" {
				if stored, ok := st.receipts[k]; ok {
					if stored.AuctionID != c.auctionID {
						results[i].err = domain.ErrIdempotencyKey
					} else {
						results[i].receipt = stored
					}
					continue
				}
				if j, ok := firstUse[k]; ok {
					if batch[j].auctionID != c.auctionID {
						results[i].err = domain.ErrIdempotencyKey
					} else {
						dupOf[i] = j
					}
					continue
				}
				firstUse[k] = i
			}
			if st.suspended[c.bidder.ID] {
				results[i].err = domain.ErrSuspended
				continue
			}
			ak := aliasKey{c.auctionID, c.bidder.ID}
			alias, known := st.aliases[ak]
			if !known {
				alias = fmt.Sprintf("Bidder %d", a.BidderCount+1)
			}
			out, err := domain.PlaceBid(a, domain.BidRequest{
				BidderID: c.bidder.ID, Alias: alias, Amount: c.in.Amount, MaxAmount: c.in.MaxAmount, BuyNow: c.in.BuyNow,
			}, c.receivedAt)
			if err != nil {
				results[i].err = err
				continue
			}
			if !known {
				out.Auction.BidderCount++
				st.aliases[ak] = alias
				newBidders = append(newBidders, bidderRow{AuctionID: c.auctionID, UserID: c.bidder.ID, Alias: alias})
			}
			a = out.Auction
			a.UpdatedAt = now
			auctions[c.auctionID] = a
			changed[c.auctionID] = true
			b := out.Bid
			bids = append(bids, bidRow{AuctionID: c.auctionID, BidderID: b.BidderID, Amount: b.Amount, MaxAmount: b.MaxAmount,
				BuyNow: b.BuyNow, Seq: b.Seq, ReceivedAt: b.ReceivedAt})
			for _, e := range out.Events {
				e.CommittedAt = now
				events = append(events, e)
			}
			results[i].receipt = domain.Receipt{
				AuctionID: c.auctionID, Amount: b.Amount, MaxAmount: b.MaxAmount, Currency: a.Currency, Seq: b.Seq,
				ReceivedAt: b.ReceivedAt, Leading: out.Leading, CurrentPrice: a.CurrentPrice,
				MinNextBid: domain.MinNextBid(a), EndsAt: a.EndsAt, Status: a.Status,
			}
			accepted = append(accepted, i)
		}
		if len(bids) == 0 {
			return nil
		}
		if len(newBidders) > 0 {
			if err := tx.CreateInBatches(&newBidders, 500).Error; err != nil {
				return err
			}
		}
		if err := tx.CreateInBatches(&bids, 500).Error; err != nil {
			return err
		}
		type seqKey struct{ auction, seq int64 }
		bidIDs := make(map[seqKey]int64, len(bids))
		for k, i := range accepted {
			results[i].receipt.BidID = bids[k].ID
			bidIDs[seqKey{bids[k].AuctionID, bids[k].Seq}] = bids[k].ID
		}
		for i := range events {
			if events[i].BidAmount != 0 {
				events[i].BidID = bidIDs[seqKey{events[i].AuctionID, events[i].Seq}]
			}
		}
		if err := s.writeEvents(tx, events); err != nil {
			return err
		}
		for _, i := range accepted {
			if key := batch[i].in.IdempotencyKey; key != "" {
				data, _ := json.Marshal(results[i].receipt)
				idem = append(idem, idempotencyRow{UserID: batch[i].bidder.ID, Key: key, AuctionID: batch[i].auctionID, Receipt: string(data), CreatedAt: now})
			}
		}
		if len(idem) > 0 {
			// A key reused on another auction by a concurrent transaction
			// loses quietly here; its first use stays the recorded one.
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&idem, 500).Error; err != nil {
				return err
			}
		}
		wrote = true
		var touched []domain.Auction
		for id := range changed {
			touched = append(touched, auctions[id])
		}
		return s.saveStates(tx, touched)
	})
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeInternal {
			s.log.Error("bid batch failed", "bids", len(batch), "err", err)
		}
		results = make([]bidResult, len(batch))
		for i := range results {
			results[i] = bidResult{err: err}
		}
		return results
	}
	if wrote {
		s.notifyCommitted()
	}
	for i, j := range dupOf {
		results[i] = results[j]
	}
	return results
}

// lockAuctions reads and locks, in id order so that concurrent batches
// never wait on each other in a cycle, every auction a batch touches.
func (s *Service) lockAuctions(tx *gorm.DB, batch []*bidCall) (map[int64]domain.Auction, error) {
	seen := map[int64]bool{}
	var ids []int64
	for _, c := range batch {
		if !seen[c.auctionID] {
			seen[c.auctionID] = true
			ids = append(ids, c.auctionID)
		}
	}
	var rows []auctionRow
	if err := tx.Raw("SELECT * FROM auctions WHERE id IN ? ORDER BY id"+s.forUpdate(), ids).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[int64]domain.Auction, len(rows))
	for _, r := range rows {
		out[r.ID] = r.toDomain()
	}
	return out, nil
}

type aliasKey struct{ auction, user int64 }

type batchState struct {
	suspended map[int64]bool
	aliases   map[aliasKey]string
	receipts  map[idemKey]domain.Receipt
}

// loadBatchState reads, in the batch's transaction, what judging the batch
// needs besides the auction rows: suspensions, aliases and earlier receipts.
func (s *Service) loadBatchState(tx *gorm.DB, batch []*bidCall) (batchState, error) {
	st := batchState{suspended: map[int64]bool{}, aliases: map[aliasKey]string{}, receipts: map[idemKey]domain.Receipt{}}
	seenUser, seenAuction := map[int64]bool{}, map[int64]bool{}
	var users, auctions []int64
	var keys []string
	for _, c := range batch {
		if !seenUser[c.bidder.ID] {
			seenUser[c.bidder.ID] = true
			users = append(users, c.bidder.ID)
		}
		if !seenAuction[c.auctionID] {
			seenAuction[c.auctionID] = true
			auctions = append(auctions, c.auctionID)
		}
		if c.in.IdempotencyKey != "" {
			keys = append(keys, c.in.IdempotencyKey)
		}
	}
	var suspended []int64
	if err := tx.Raw("SELECT id FROM users WHERE id IN ? AND suspended", users).Scan(&suspended).Error; err != nil {
		return st, err
	}
	for _, id := range suspended {
		st.suspended[id] = true
	}
	var bidders []bidderRow
	if err := tx.Where("auction_id IN ? AND user_id IN ?", auctions, users).Find(&bidders).Error; err != nil {
		return st, err
	}
	for _, b := range bidders {
		st.aliases[aliasKey{b.AuctionID, b.UserID}] = b.Alias
	}
	if len(keys) > 0 {
		var rows []idempotencyRow
		if err := tx.Where("user_id IN ? AND key IN ?", users, keys).Find(&rows).Error; err != nil {
			return st, err
		}
		for _, r := range rows {
			var rc domain.Receipt
			if json.Unmarshal([]byte(r.Receipt), &rc) == nil {
				rc.AuctionID = r.AuctionID
				st.receipts[idemKey{r.UserID, r.Key}] = rc
			}
		}
	}
	return st, nil
}
