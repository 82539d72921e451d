package bidding

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/gavel-auctions/gavel/domain"
)

// maxQueuedBids bounds the bids waiting on one auction in one process; past
// it a bidder is asked to retry rather than letting memory grow.
const maxQueuedBids = 20_000

type bidCall struct {
	auctionID  int64
	bidder     domain.User
	in         domain.BidInput
	receivedAt time.Time
	done       chan bidResult
	// queuedAt is set only when PlaceBid's context carries a BidTrace:
	// the monotonic clock at queueing (receivedAt is s.now, which tests
	// may fix).
	queuedAt time.Time
	// state settles, once, who owns a call whose caller stops waiting:
	// the batch that takes it (the bid may commit), or the caller who
	// abandons it first (the bid is never judged).
	state atomic.Uint32
}

// bidCall states.
const (
	callQueued uint32 = iota
	callTaken
	callAbandoned
)

type bidResult struct {
	receipt domain.Receipt
	err     error
	// For a traced call (BidTrace): its wait in the queue and its batch's
	// transaction.
	queued, batch time.Duration
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
	case s.opts.RequireVerifiedEmail && !bidder.EmailVerified:
		return domain.Receipt{}, domain.ErrNotVerified
	case len(in.IdempotencyKey) > 200:
		return domain.Receipt{}, domain.Invalid("Idempotency-Key", "The Idempotency-Key must be at most 200 characters.")
	}
	call := &bidCall{auctionID: auctionID, bidder: bidder, in: in, done: make(chan bidResult, 1)}
	trace := bidTraceFrom(ctx)
	if trace != nil {
		call.queuedAt = time.Now()
	}
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
		if trace != nil {
			trace.Queued, trace.Batch = r.queued, r.batch
		}
		return r.receipt, r.err
	case <-ctx.Done():
		if call.state.CompareAndSwap(callQueued, callAbandoned) {
			// Still queued: no batch will ever judge it.
			return domain.Receipt{}, bidNotPlaced(ctx.Err())
		}
		// A batch has it: the bid may still commit, and the caller will
		// learn the outcome from the stream or a retry with its
		// Idempotency-Key.
		return domain.Receipt{}, bidUnconfirmed(ctx.Err())
	}
}

func (s *Service) drain(q *shard) {
	defer s.inflight.Done()
	s.draining.Add(1)
	defer s.drained()
	// The drain keeps one pooled connection while bids keep coming: a batch
	// must never queue for the pool behind the reads of the requests that
	// feed it (sessions, users, pages), which is where HTTP bids used to
	// wait (docs/BENCHMARKS.md).
	var held heldConn
	defer held.release()
	for {
		s.seqMu.Lock()
		if len(q.queue) == 0 {
			q.running = false
			s.seqMu.Unlock()
			return
		}
		n := min(len(q.queue), s.opts.MaxBatch)
		taken := q.queue[:n:n]
		q.queue = append([]*bidCall(nil), q.queue[n:]...)
		s.seqMu.Unlock()

		batch := taken[:0]
		for _, c := range taken {
			if c.state.CompareAndSwap(callQueued, callTaken) {
				batch = append(batch, c)
			}
		}
		if len(batch) == 0 {
			continue
		}
		clock := startBatchClock(batch)
		s.batchesBegun.Add(1)
		results := s.commitBatch(batch, &held)
		s.batchesEnded.Add(1)
		clock.stamp(batch, results)
		for i, c := range batch {
			c.done <- results[i]
		}
	}
}

// Busy reports whether this node is judging or committing bids at this
// moment. Background work that competes for the CPU and the database, such
// as sending email, paces itself by it.
func (s *Service) Busy() bool { return s.draining.Load() > 0 }

// commitBatch applies a batch of bids, possibly on several auctions, in one
// transaction, and returns each caller's answer.
func (s *Service) commitBatch(batch []*bidCall, held *heldConn) []bidResult {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.BatchTimeout)
	defer cancel()
	var (
		p   *batchPlan
		err error
	)
	if s.pgx != nil {
		p, err = s.commitBatchPG(ctx, batch, held)
	} else {
		p, err = s.commitBatchGORM(ctx, batch)
	}
	if err != nil {
		switch domain.ErrorCode(err) {
		case domain.CodeInternal:
			s.log.Error("bid batch failed", "bids", len(batch), "err", err)
		case domain.CodeUnavailable:
			s.log.Warn("bid batch failed: database unavailable", "bids", len(batch), "err", err)
			if errors.Is(err, errCommitUnknown) {
				err = bidUnconfirmed(err)
			} else {
				err = bidNotPlaced(err)
			}
		}
		results := make([]bidResult, len(batch))
		for i := range results {
			results[i] = bidResult{err: err}
		}
		return results
	}
	if len(p.bids) > 0 {
		s.notifyCommitted()
	}
	for i, j := range p.dupOf {
		p.results[i] = p.results[j]
	}
	p.recycle()
	return p.results
}

// commitBatchGORM is commitBatch through GORM, for SQLite (and for a
// PostgreSQL pool whose driver is not pgx's).
func (s *Service) commitBatchGORM(ctx context.Context, batch []*bidCall) (*batchPlan, error) {
	var p *batchPlan
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		keys := keysOf(batch)
		auctions, err := s.lockAuctions(tx, keys.auctions)
		if err != nil {
			return err
		}
		st, err := loadBatchState(tx, keys, s.forUpdate())
		if err != nil {
			return err
		}
		// lockAuctions read every later lot of every cascade sale bid on.
		st.allLater = true
		now := s.now()
		p = applyBatch(batch, auctions, st, now)
		if len(p.bids) == 0 {
			return nil
		}
		if len(p.newBidders) > 0 {
			if err := tx.CreateInBatches(&p.newBidders, 500).Error; err != nil {
				return err
			}
		}
		if err := tx.CreateInBatches(&p.bids, 500).Error; err != nil {
			return err
		}
		if len(p.autos) > 0 {
			if err := tx.CreateInBatches(&p.autos, 500).Error; err != nil {
				return err
			}
		}
		p.setBidIDs()
		if err := s.writeEvents(tx, slices.Concat(p.events, p.personal)); err != nil {
			return err
		}
		if idem := p.idempotencyRows(batch, now); len(idem) > 0 {
			// A key reused on another auction by a concurrent transaction
			// loses quietly here; its first use stays the recorded one.
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&idem, 500).Error; err != nil {
				return err
			}
		}
		return s.saveStates(tx, p.touched, p.moved)
	})
	return p, err
}

// lockAuctions reads and locks, in id order so that concurrent batches
// never wait on each other in a cycle, every auction a batch touches: the
// ones bid on, and the later unclosed lots of their sales in cascade mode,
// which a bid may move (as stmtLockAuctions does on PostgreSQL).
func (s *Service) lockAuctions(tx *gorm.DB, ids []int64) (map[int64]domain.Auction, error) {
	var later []int64
	err := tx.Raw(`SELECT l.id FROM auctions l JOIN (
			SELECT a.sale_id, MIN(a.lot_number) AS n FROM auctions a
			JOIN sales s ON s.id = a.sale_id AND s.soft_close_mode = 'cascade'
			WHERE a.id IN ? GROUP BY a.sale_id) b ON l.sale_id = b.sale_id AND l.lot_number > b.n
		WHERE l.status IN ('scheduled', 'open')`, ids).Scan(&later).Error
	if err != nil {
		return nil, err
	}
	if len(later) > 0 {
		ids = append(slices.Clone(ids), later...)
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

// loadBatchState reads, in the batch's transaction, what judging the batch
// needs besides the auction rows.
func loadBatchState(tx *gorm.DB, k batchKeys, forUpdate string) (batchState, error) {
	st := newBatchState()
	var suspended []int64
	if err := tx.Raw("SELECT id FROM users WHERE id IN ? AND suspended", k.users).Scan(&suspended).Error; err != nil {
		return st, err
	}
	for _, id := range suspended {
		st.suspended[id] = true
	}
	var bidders []bidderRow
	if err := tx.Where("auction_id IN ? AND user_id IN ?", k.auctions, k.users).Find(&bidders).Error; err != nil {
		return st, err
	}
	for _, b := range bidders {
		st.aliases[aliasKey{b.AuctionID, b.UserID}] = b.Alias
	}
	var sales []saleRow
	if err := tx.Raw("SELECT * FROM sales WHERE id IN (SELECT sale_id FROM auctions WHERE id IN ?) ORDER BY id"+forUpdate,
		k.auctions).Scan(&sales).Error; err != nil {
		return st, err
	}
	for _, r := range sales {
		st.sales[r.ID] = r.toDomain()
	}
	if len(k.idem) > 0 {
		keys := make([]string, len(k.idem))
		for i, ik := range k.idem {
			keys[i] = ik.key
		}
		var rows []idempotencyRow
		if err := tx.Where("user_id IN ? AND key IN ?", k.users, keys).Find(&rows).Error; err != nil {
			return st, err
		}
		for _, r := range rows {
			if rc, ok := storedReceipt(r.AuctionID, r.Receipt); ok {
				st.receipts[idemKey{r.UserID, r.Key}] = rc
			}
		}
	}
	return st, nil
}
