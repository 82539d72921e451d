package bidding

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// CreateAuction lists a new auction for seller. An auction that starts now
// announces itself with an opened event.
func (s *Service) CreateAuction(ctx context.Context, seller domain.User, in domain.AuctionInput) (domain.Auction, error) {
	if err := mayAct(seller); err != nil {
		return domain.Auction{}, err
	}
	if err := s.mayTrade(seller); err != nil {
		return domain.Auction{}, err
	}
	fees, err := s.listingFees(ctx, seller.ID, in.Currency, in.Fees)
	if err != nil {
		return domain.Auction{}, err
	}
	in.Fees = fees
	now := s.now()
	a, err := domain.NewAuction(seller.ID, in, now)
	if err != nil {
		return domain.Auction{}, err
	}
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		// seller may come from a cache a moment old: a suspension that
		// committed since must win, or its listing would outlive it.
		if err := s.lockSeller(tx, seller.ID, true); err != nil {
			return err
		}
		var suspended bool
		if err := tx.Raw("SELECT suspended FROM users WHERE id = ?", seller.ID).Scan(&suspended).Error; err != nil {
			return err
		}
		if suspended {
			return domain.ErrSuspended
		}
		a.Seq = 0
		row := auctionToRow(a)
		row.ID = 0
		if err := tx.Create(&row).Error; err != nil {
			return categoryError(err)
		}
		a.ID = row.ID
		if a.Status != domain.StatusOpen {
			return nil
		}
		a.Seq = 1
		if err := saveState(tx, a); err != nil {
			return err
		}
		return s.writeEvents(tx, []domain.Event{domain.StateEvent(domain.EventOpened, a, now)})
	})
	if err != nil {
		return domain.Auction{}, err
	}
	s.notifyCommitted()
	return a, nil
}

// UpdateAuction lets the seller change an auction before its first bid.
func (s *Service) UpdateAuction(ctx context.Context, actor domain.User, id int64, in domain.AuctionInput) (domain.Auction, error) {
	if err := mayAct(actor); err != nil {
		return domain.Auction{}, err
	}
	var out domain.Auction
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		a, err := s.lockAuction(tx, id)
		if err != nil {
			return err
		}
		if a.SellerID != actor.ID {
			return domain.ErrNotSeller
		}
		if a.SaleID != 0 {
			return &domain.Error{Code: domain.CodeConflict, Message: fmt.Sprintf(
				"This auction is lot %d of a sale, which sets its times: change it with PATCH /api/v1/sales/%d/lots/%d.",
				a.LotNumber, a.SaleID, a.ID)}
		}
		now := s.now()
		next, err := domain.Edit(a, in, now)
		if err != nil {
			return err
		}
		next.Seq++
		next.UpdatedAt = now
		row := auctionToRow(next)
		if err := tx.Model(&auctionRow{}).Where("id = ?", id).Select("*").Omit("id", "seller_id", "created_at").Updates(&row).Error; err != nil {
			return categoryError(err)
		}
		out = next
		// Watchers redraw from the full state every event carries.
		return s.writeEvents(tx, []domain.Event{domain.StateEvent(domain.EventPrice, next, now)})
	})
	if err == nil {
		s.notifyCommitted()
	}
	return out, err
}

// listingFees is the fee schedule a new listing of seller's in currency
// is sold under: the one it brings, else the seller's default (nil when
// there is none). A sale takes its schedule the same way when it is
// created, and passes it to its lots (docs/INVOICING.md).
func (s *Service) listingFees(ctx context.Context, sellerID int64, currency string, given *domain.Fees) (*domain.Fees, error) {
	if given != nil || s.opts.DefaultFees == nil {
		return given, nil
	}
	return s.opts.DefaultFees(ctx, sellerID, currency)
}

// categoryError turns the one foreign key a listing's write can break, its
// category (deleted since the caller looked it up), into a message for the
// seller.
func categoryError(err error) error {
	if foreignKeyViolation(err) {
		return domain.Invalid("category", "That category no longer exists; choose another.")
	}
	return err
}

// Transact runs fn in one transaction and appends the events it returns to
// the outbox in that same transaction, then wakes the relay once it has
// committed. It lets other capabilities (the watchlist's notices) commit
// their own rows together with their events. fn may run more than once
// when the database asks for a retry, so it must only use tx.
func (s *Service) Transact(ctx context.Context, fn func(tx *gorm.DB) ([]domain.Event, error)) error {
	wrote := false
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		events, err := fn(tx)
		if err != nil {
			return err
		}
		wrote = len(events) > 0
		return s.writeEvents(tx, events)
	})
	if err == nil && wrote {
		s.notifyCommitted()
	}
	return err
}

// CancelAuction cancels an auction: its seller may before the first bid,
// an admin at any time (recorded in the audit log).
func (s *Service) CancelAuction(ctx context.Context, actor domain.User, id int64, reason string) (domain.Auction, error) {
	if err := mayAct(actor); err != nil {
		return domain.Auction{}, err
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return domain.Auction{}, err
	}
	var out domain.Auction
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		a, err := s.lockAuction(tx, id)
		if err != nil {
			return err
		}
		switch {
		case actor.Admin:
		case actor.ID != a.SellerID:
			return domain.ErrNotSeller
		case !domain.CanSellerEdit(a) && a.Status != domain.StatusClosed && a.Status != domain.StatusCancelled:
			return domain.ErrHasBids
		}
		now := s.now()
		next, events, err := domain.Cancel(a, reason, now)
		if err != nil {
			return err
		}
		next.UpdatedAt = now
		if err := saveState(tx, next); err != nil {
			return err
		}
		if err := s.writeEvents(tx, events); err != nil {
			return err
		}
		out = next
		if actor.Admin {
			return tx.Create(&auditRow{ActorID: actor.ID, Action: "cancel_auction", TargetID: id, Reason: reason, CreatedAt: now}).Error
		}
		return nil
	})
	if err == nil {
		s.notifyCommitted()
	}
	return out, err
}

// SuspendUser stops a user from acting, closes their streams (through a
// suspended event), cancels every auction they are selling that has not
// ended, and recomputes every running auction they bid on from the
// remaining bids.
func (s *Service) SuspendUser(ctx context.Context, admin domain.User, userID int64, reason string) error {
	if !admin.Admin || admin.Suspended {
		return domain.ErrNotAdmin
	}
	if userID == admin.ID {
		return domain.Invalid("user_id", "You cannot suspend yourself.")
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return err
	}
	// The suspension and the cancellation of the user's listings commit
	// together, so a crash cannot leave a suspended seller's auction taking
	// bids. Locks are taken in the order bids take theirs, auctions before
	// users, or the two could deadlock; the seller lock before both keeps a
	// new listing from slipping in between (CreateAuction holds it shared).
	// The recomputations of auctions the user bid on commit afterwards, one
	// auction each, as a bid would.
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		if err := s.lockSeller(tx, userID, false); err != nil {
			return err
		}
		listings, err := s.lockListings(tx, userID)
		if err != nil {
			return err
		}
		// Then the seller's unfinished sales (auctions, sales, users is the
		// global lock order): they end with the lots, cancelled above.
		var sales []saleRow
		if err := tx.Raw("SELECT * FROM sales WHERE seller_id = ? AND status NOT IN ('closed', 'cancelled') ORDER BY id"+s.forUpdate(),
			userID).Scan(&sales).Error; err != nil {
			return err
		}
		res := tx.Model(&userRow{}).Where("id = ?", userID).Update("suspended", true)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return domain.ErrUserNotFound
		}
		now := s.now()
		if err := tx.Create(&auditRow{ActorID: admin.ID, Action: "suspend_user", TargetID: userID, Reason: reason, CreatedAt: now}).Error; err != nil {
			return err
		}
		if err := s.cancelListings(tx, admin, listings, reason, now); err != nil {
			return err
		}
		if err := s.cancelSales(tx, admin, sales, reason, now); err != nil {
			return err
		}
		return s.writeEvents(tx, []domain.Event{{Type: domain.EventSuspended, UserID: userID, Reason: reason, CommittedAt: now}})
	})
	if err != nil {
		return err
	}
	s.users.Forget(userID)
	s.notifyCommitted()
	var auctions []int64
	err = s.db.WithContext(ctx).Raw(`SELECT DISTINCT b.auction_id FROM bids b JOIN auctions a ON a.id = b.auction_id
		WHERE b.bidder_id = ? AND NOT b.voided AND a.status IN ('open', 'scheduled') ORDER BY b.auction_id`, userID).Scan(&auctions).Error
	if err != nil {
		return err
	}
	for _, id := range auctions {
		if err := s.voidBids(ctx, id, userID); err != nil {
			return err
		}
	}
	return nil
}

// sellerLockSpace is the first key of the per-seller PostgreSQL advisory
// locks ("gave"). Two-key advisory locks never collide with the one-key
// locks of the relay and the migrations.
const sellerLockSpace = 0x67617665

// lockSeller serialises listing against suspending one seller: shared for
// CreateAuction, exclusive for SuspendUser. SQLite runs one write
// transaction at a time, which serialises them already.
func (s *Service) lockSeller(tx *gorm.DB, sellerID int64, shared bool) error {
	if !s.pg {
		return nil
	}
	fn := "pg_advisory_xact_lock"
	if shared {
		fn = "pg_advisory_xact_lock_shared"
	}
	// Ids past 2^31 wrap and share a lock with a smaller one: harmless.
	return tx.Exec("SELECT "+fn+"(?, ?)", sellerLockSpace, int32(uint32(sellerID))).Error
}

// lockListings locks, in id order, every auction of sellerID that has not
// ended.
func (s *Service) lockListings(tx *gorm.DB, sellerID int64) ([]domain.Auction, error) {
	var rows []auctionRow
	err := tx.Raw("SELECT * FROM auctions WHERE seller_id = ? AND status IN ('scheduled', 'open') ORDER BY id"+s.forUpdate(),
		sellerID).Scan(&rows).Error
	out := make([]domain.Auction, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, err
}

// listingChunk bounds the auctions cancelled per statement: saveStates
// binds 12 parameters per auction, and PostgreSQL takes at most 65,535.
const listingChunk = 500

// cancelListings cancels auctions that lockListings locked, inside a
// suspension's transaction. Bidders are told why with
// domain.ReasonSellerSuspended; the audit log keeps one row per auction with
// the admin's reason.
func (s *Service) cancelListings(tx *gorm.DB, admin domain.User, listings []domain.Auction, reason string, now time.Time) error {
	auditReason := "Seller suspended."
	if reason != "" {
		auditReason = "Seller suspended: " + reason
	}
	for chunk := range slices.Chunk(listings, listingChunk) {
		if err := s.cancelChunk(tx, admin, chunk, auditReason, now); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) cancelChunk(tx *gorm.DB, admin domain.User, rows []domain.Auction, auditReason string, now time.Time) error {
	cancelled := make([]domain.Auction, 0, len(rows))
	var events []domain.Event
	audit := make([]auditRow, 0, len(rows))
	for _, a := range rows {
		next, evs, err := domain.Cancel(a, domain.ReasonSellerSuspended, now)
		if err != nil {
			return err
		}
		if a.SaleID != 0 {
			// The lot's sale is cancelled with it: its sale_cancelled
			// event tells the sale's watchers.
			for i := range evs {
				evs[i].Covered = true
			}
		}
		next.UpdatedAt = now
		cancelled = append(cancelled, next)
		events = append(events, evs...)
		audit = append(audit, auditRow{ActorID: admin.ID, Action: "cancel_auction", TargetID: next.ID, Reason: auditReason, CreatedAt: now})
	}
	if err := s.saveStates(tx, cancelled, nil); err != nil {
		return err
	}
	if err := tx.Create(&audit).Error; err != nil {
		return err
	}
	return s.writeEvents(tx, events)
}

// cancelSales cancels a suspended seller's unfinished sales, whose lots
// cancelListings has just cancelled, inside the suspension's transaction.
func (s *Service) cancelSales(tx *gorm.DB, admin domain.User, sales []saleRow, reason string, now time.Time) error {
	auditReason := "Seller suspended."
	if reason != "" {
		auditReason = "Seller suspended: " + reason
	}
	for _, r := range sales {
		next, _, events, err := domain.CancelSale(r.toDomain(), nil, domain.ReasonSellerSuspended, now)
		if err != nil {
			return err
		}
		if err := s.commitSaleChange(tx, next, nil, events); err != nil {
			return err
		}
		if err := tx.Create(&auditRow{ActorID: admin.ID, Action: "cancel_sale", TargetID: next.ID, Reason: auditReason, CreatedAt: now}).Error; err != nil {
			return err
		}
	}
	return nil
}

// voidBids voids one user's bids on one auction and recomputes it.
func (s *Service) voidBids(ctx context.Context, auctionID, userID int64) error {
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		a, err := s.lockAuction(tx, auctionID)
		if err != nil {
			return err
		}
		if a.Status != domain.StatusOpen && a.Status != domain.StatusScheduled {
			return nil
		}
		if err := tx.Model(&bidRow{}).Where("auction_id = ? AND bidder_id = ?", auctionID, userID).Update("voided", true).Error; err != nil {
			return err
		}
		_, err = s.recompute(tx, a)
		return err
	})
	if err == nil {
		s.notifyCommitted()
	}
	return err
}

// CancelBid lets an admin strike one bid from a running auction (a shill
// bid, a bidder's typo they reported): the price and leader are recomputed
// from the remaining bids as if it had never been made, and the audit log
// records it. Later bids that only fitted above it are skipped by the
// replay, as with a suspension.
func (s *Service) CancelBid(ctx context.Context, admin domain.User, auctionID, bidID int64, reason string) (domain.Auction, error) {
	if !admin.Admin || admin.Suspended {
		return domain.Auction{}, domain.ErrNotAdmin
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return domain.Auction{}, err
	}
	var out domain.Auction
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		a, err := s.lockAuction(tx, auctionID)
		if err != nil {
			return err
		}
		switch a.Status {
		case domain.StatusClosed:
			return domain.ErrAuctionClosed
		case domain.StatusCancelled:
			return domain.ErrAuctionCanceled
		}
		var bid bidRow
		if err := tx.Where("id = ? AND auction_id = ?", bidID, auctionID).Limit(1).Find(&bid).Error; err != nil {
			return err
		}
		switch {
		case bid.ID == 0:
			return domain.ErrBidNotFound
		case bid.Voided:
			return domain.ErrBidCancelled
		}
		if err := tx.Model(&bidRow{}).Where("id = ?", bidID).Update("voided", true).Error; err != nil {
			return err
		}
		if out, err = s.recompute(tx, a); err != nil {
			return err
		}
		if err := s.writeEvents(tx, []domain.Event{bidCancelledEvent(out, bid, reason, out.UpdatedAt)}); err != nil {
			return err
		}
		return tx.Create(&auditRow{ActorID: admin.ID, Action: "cancel_bid", TargetID: bidID, Reason: reason, CreatedAt: out.UpdatedAt}).Error
	})
	if err == nil {
		s.notifyCommitted()
	}
	return out, err
}

// recompute rebuilds a locked auction from its bids that still count and
// commits the result with its price event. The history is rebuilt with
// it: automatic bids are rewritten, a bid may become (or stop being) a
// leader's raise, and a bid the replay skips no longer counts (voided),
// so the history keeps explaining the price and the leader.
func (s *Service) recompute(tx *gorm.DB, a domain.Auction) (domain.Auction, error) {
	bids, err := s.countingBids(tx, a.ID)
	if err != nil {
		return a, err
	}
	now := s.now()
	next, events, trace := domain.RecomputeHistory(a, bids, now)
	next.UpdatedAt = now
	if err := saveState(tx, next); err != nil {
		return a, err
	}
	if err := s.rewriteHistory(tx, a.ID, bids, trace); err != nil {
		return a, err
	}
	if next.LeaderID != 0 {
		// The leader's name, as Auction reads it, for the seller's and
		// admins' view of the result.
		if err := tx.Raw("SELECT name FROM users WHERE id = ?", next.LeaderID).Scan(&next.LeaderName).Error; err != nil {
			return a, err
		}
	}
	return next, s.writeEvents(tx, events)
}

// rewriteHistory stores what a recomputation says each bid now shows.
func (s *Service) rewriteHistory(tx *gorm.DB, auctionID int64, bids []domain.Bid, trace []domain.Replayed) error {
	if err := tx.Where("auction_id = ?", auctionID).Delete(&autoBidRow{}).Error; err != nil {
		return err
	}
	var autos []autoBidRow
	var skipped, raised, unraised []int64
	for i, r := range trace {
		b := bids[i]
		switch {
		case !r.Counted && !b.BuyNow:
			skipped = append(skipped, b.ID)
		case r.Raise && !b.Raise:
			raised = append(raised, b.ID)
		case !r.Raise && b.Raise:
			unraised = append(unraised, b.ID)
		}
		autos = append(autos, autoBidRows(auctionID, r.Seq, r.Auto)...)
	}
	for _, u := range []struct {
		ids    []int64
		column string
		value  bool
	}{{skipped, "voided", true}, {raised, "raised", true}, {unraised, "raised", false}} {
		for chunk := range slices.Chunk(u.ids, listingChunk) {
			if err := tx.Model(&bidRow{}).Where("id IN ?", chunk).Update(u.column, u.value).Error; err != nil {
				return err
			}
		}
	}
	if len(autos) == 0 {
		return nil
	}
	return tx.CreateInBatches(&autos, 500).Error
}

// countingBids returns the bids of an auction that still count, in order.
func (s *Service) countingBids(tx *gorm.DB, auctionID int64) ([]domain.Bid, error) {
	var rows []bidWithAlias
	err := tx.Raw(`SELECT b.*, ab.alias FROM bids b
		JOIN auction_bidders ab ON ab.auction_id = b.auction_id AND ab.user_id = b.bidder_id
		WHERE b.auction_id = ? AND NOT b.voided ORDER BY b.seq`, auctionID).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]domain.Bid, len(rows))
	for i, r := range rows {
		b := r.Bid
		out[i] = domain.Bid{ID: b.ID, AuctionID: b.AuctionID, BidderID: b.BidderID, Alias: r.Alias, Amount: b.Amount,
			MaxAmount: b.MaxAmount, BuyNow: b.BuyNow, Raise: b.Raised, Seq: b.Seq, ReceivedAt: b.ReceivedAt.UTC()}
	}
	return out, nil
}

// cleanReason trims an admin's or seller's reason and checks its length
// in characters, as the web layer counts them: in bytes, 500 accented or
// non-Latin characters would pass the form and fail here.
func cleanReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if err := domain.CheckText(reason, domain.ReasonText); err != nil {
		return "", err
	}
	return reason, nil
}

func mayAct(u domain.User) error {
	switch {
	case u.ID == 0:
		return domain.ErrUnauthorized
	case u.Suspended:
		return domain.ErrSuspended
	}
	return nil
}
