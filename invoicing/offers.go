package invoicing

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// lockLot reads a lot and, on PostgreSQL, locks its row: offers on one lot
// take turns.
func (s *Service) lockLot(tx *gorm.DB, id int64) (lotRow, error) {
	var rows []lotRow
	if err := tx.Raw("SELECT "+s.lotColumns()+" FROM auctions a WHERE a.id = ?"+s.forUpdate(), id).Scan(&rows).Error; err != nil {
		return lotRow{}, err
	}
	if len(rows) == 0 {
		return lotRow{}, domain.ErrAuctionNotFound
	}
	return rows[0], nil
}

// MakeOffer offers a closed lot after close (the seller only): to the top
// bidder at their maximum when the reserve was not met, or, after the
// winner's invoice was cancelled by a credit note, to the next bidder at
// their own highest bid. Bidders who already had the lot or an offer of
// it are passed over. ttlHours 0 means 48 hours.
func (s *Service) MakeOffer(ctx context.Context, seller domain.User, auctionID int64, ttlHours int) (domain.Offer, error) {
	switch {
	case seller.ID == 0:
		return domain.Offer{}, domain.ErrUnauthorized
	case seller.Suspended:
		return domain.Offer{}, domain.ErrSuspended
	}
	ttl, err := domain.OfferTTL(ttlHours)
	if err != nil {
		return domain.Offer{}, err
	}
	var out domain.Offer
	err = s.out.Transact(ctx, func(tx *gorm.DB) ([]domain.Event, error) {
		lot, err := s.lockLot(tx, auctionID)
		if err != nil {
			return nil, err
		}
		a := lot.auction()
		if a.SellerID != seller.ID {
			return nil, domain.ErrNotSeller
		}
		if a.Status == domain.StatusClosed && lot.SettledAt == nil {
			return nil, domain.Errorf(domain.CodeConflict, "This lot is not settled yet: that happens a moment after it closes, or for a sale's lot when the whole sale has closed. Try again then.")
		}
		var open int64
		if err := tx.Raw("SELECT count(*) FROM offers WHERE auction_id = ? AND status = 'open'", a.ID).Scan(&open).Error; err != nil {
			return nil, err
		}
		if open > 0 {
			return nil, domain.Errorf(domain.CodeConflict, "An offer of this lot is still open; wait for the answer or for it to expire.")
		}
		active, excluded, err := s.lotHistory(tx, a)
		if err != nil {
			return nil, err
		}
		cands, err := candidates(tx, a.ID)
		if err != nil {
			return nil, err
		}
		kind, c, err := domain.NextOffer(a, cands, excluded, active)
		if err != nil {
			return nil, err
		}
		now := s.now()
		row := offerRow{AuctionID: a.ID, SellerID: a.SellerID, BuyerID: c.BidderID, Kind: string(kind), Amount: c.Highest,
			Currency: a.Currency, Status: string(domain.OfferOpen), ExpiresAt: now.Add(ttl), CreatedAt: now}
		if err := tx.Create(&row).Error; err != nil {
			if uniqueViolation(err) {
				return nil, domain.Errorf(domain.CodeConflict, "An offer of this lot is still open; wait for the answer or for it to expire.")
			}
			return nil, err
		}
		out = row.toDomain(a.Title, a.Terms())
		if err := audit(tx, seller.ID, "offer_made", row.ID, string(kind)+" offer of auction "+itoa(a.ID)+" at "+
			domain.FormatMoney(row.Amount, row.Currency), now); err != nil {
			return nil, err
		}
		return offerEvents(out, now, out.BuyerID, out.SellerID), nil
	})
	return out, err
}

// lotHistory says whether a lot is on a standing invoice, and which
// bidders already won it or were offered it.
func (s *Service) lotHistory(tx *gorm.DB, a domain.Auction) (active bool, excluded map[int64]bool, err error) {
	excluded = map[int64]bool{}
	if w := domain.Winner(a); w != 0 {
		// The winner's invoice is issued by settling; never offer them
		// what they already bought.
		excluded[w] = true
	}
	var inv []struct {
		BuyerID int64
		Status  string
	}
	err = tx.Raw(`SELECT i.buyer_id, i.status FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id
		WHERE l.auction_id = ? AND l.kind = 'hammer' AND i.kind = 'invoice'`, a.ID).Scan(&inv).Error
	if err != nil {
		return false, nil, err
	}
	for _, r := range inv {
		excluded[r.BuyerID] = true
		if r.Status != string(domain.InvoiceCancelled) {
			active = true
		}
	}
	var offered []int64
	if err := tx.Raw("SELECT buyer_id FROM offers WHERE auction_id = ?", a.ID).Scan(&offered).Error; err != nil {
		return false, nil, err
	}
	for _, b := range offered {
		excluded[b] = true
	}
	return active, excluded, nil
}

// candidates lists a lot's bidders with bids that count, best first: the
// highest maximum, then whoever bid first.
func candidates(tx *gorm.DB, auctionID int64) ([]domain.OfferCandidate, error) {
	var rows []struct {
		BidderID int64
		Highest  int64
		FirstSeq int64
	}
	err := tx.Raw(`SELECT bidder_id, MAX(max_amount) AS highest, MIN(seq) AS first_seq FROM bids
		WHERE auction_id = ? AND NOT voided GROUP BY bidder_id ORDER BY highest DESC, first_seq ASC`, auctionID).Scan(&rows).Error
	out := make([]domain.OfferCandidate, len(rows))
	for i, r := range rows {
		out[i] = domain.OfferCandidate{BidderID: r.BidderID, Highest: r.Highest}
	}
	return out, err
}

// AcceptOffer accepts an open offer for its bidder and issues the invoice
// in the same transaction. The offer must be open strictly before its
// expiry by the server's clock; an offer accepted twice, or expiring as
// it is accepted, gives exactly one answer (a conditional UPDATE decides).
func (s *Service) AcceptOffer(ctx context.Context, buyer domain.User, offerID int64) (domain.Offer, error) {
	return s.answer(ctx, buyer, offerID, domain.OfferAccepted)
}

// DeclineOffer declines an open offer for its bidder.
func (s *Service) DeclineOffer(ctx context.Context, buyer domain.User, offerID int64) (domain.Offer, error) {
	return s.answer(ctx, buyer, offerID, domain.OfferDeclined)
}

func (s *Service) answer(ctx context.Context, buyer domain.User, offerID int64, to domain.OfferStatus) (domain.Offer, error) {
	switch {
	case buyer.ID == 0:
		return domain.Offer{}, domain.ErrUnauthorized
	case buyer.Suspended:
		return domain.Offer{}, domain.ErrSuspended
	}
	var out domain.Offer
	err := s.out.Transact(ctx, func(tx *gorm.DB) ([]domain.Event, error) {
		var rows []offerRow
		if err := tx.Raw("SELECT * FROM offers WHERE id = ?", offerID).Scan(&rows).Error; err != nil {
			return nil, err
		}
		if len(rows) == 0 || rows[0].BuyerID != buyer.ID {
			return nil, domain.ErrOfferNotFound
		}
		now := s.now()
		o := rows[0]
		lot, err := s.lockLot(tx, o.AuctionID)
		if err != nil {
			return nil, err
		}
		a := lot.auction()
		if err := domain.CheckAnswer(o.toDomain(a.Title, a.Terms()), buyer.ID, now); err != nil {
			return nil, err
		}
		// The decision: whichever of accept, decline and expire updates
		// the open row first wins; the others find it answered.
		res := tx.Model(&offerRow{}).Where("id = ? AND status = 'open' AND expires_at > ?", o.ID, now).
			Updates(map[string]any{"status": string(to), "decided_at": now})
		if res.Error != nil {
			return nil, res.Error
		}
		if res.RowsAffected != 1 {
			return nil, domain.ErrOfferDecided
		}
		o.Status, o.DecidedAt = string(to), &now
		events := []domain.Event{}
		if to == domain.OfferAccepted {
			inv, evs, err := s.issue(tx, issueSpec{sellerID: o.SellerID, buyerID: o.BuyerID, saleID: lot.SaleID, offerID: o.ID,
				currency: o.Currency, lots: []domain.LotSold{lot.sold(o.Amount)}}, now)
			if err != nil {
				return nil, err
			}
			if err := tx.Model(&offerRow{}).Where("id = ?", o.ID).Update("invoice_id", inv.ID).Error; err != nil {
				return nil, err
			}
			o.InvoiceID = ptr(inv.ID)
			events = append(events, evs...)
		}
		out = o.toDomain(a.Title, a.Terms())
		if err := audit(tx, buyer.ID, "offer_"+string(to), o.ID, "auction "+itoa(o.AuctionID), now); err != nil {
			return nil, err
		}
		return append(events, offerEvents(out, now, out.BuyerID, out.SellerID)...), nil
	})
	return out, err
}

// ExpireOffers closes offers whose time ran out unanswered and returns how
// many. The audit log names the seller, whose offer it was.
func (s *Service) ExpireOffers(ctx context.Context) (int, error) {
	var ids []int64
	if err := s.db.WithContext(ctx).Raw("SELECT id FROM offers WHERE status = 'open' AND expires_at <= ? ORDER BY id LIMIT 500",
		s.now()).Scan(&ids).Error; err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		err := s.out.Transact(ctx, func(tx *gorm.DB) ([]domain.Event, error) {
			now := s.now()
			res := tx.Model(&offerRow{}).Where("id = ? AND status = 'open' AND expires_at <= ?", id, now).
				Updates(map[string]any{"status": string(domain.OfferExpired), "decided_at": now})
			if res.Error != nil || res.RowsAffected == 0 {
				return nil, res.Error
			}
			var o offerRow
			if err := tx.Where("id = ?", id).First(&o).Error; err != nil {
				return nil, err
			}
			var title string
			if err := tx.Raw("SELECT title FROM auctions WHERE id = ?", o.AuctionID).Scan(&title).Error; err != nil {
				return nil, err
			}
			n++
			if err := audit(tx, o.SellerID, "offer_expired", o.ID, "unanswered by "+o.ExpiresAt.UTC().Format(time.RFC3339), now); err != nil {
				return nil, err
			}
			d := o.toDomain(title, domain.Fees{})
			return offerEvents(d, now, d.BuyerID, d.SellerID), nil
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Offers lists the offers made to viewer (as a bidder) or, with asSeller,
// those viewer made; newest first.
func (s *Service) Offers(ctx context.Context, viewer domain.User, asSeller bool, auctionID int64) ([]domain.Offer, error) {
	if viewer.ID == 0 {
		return nil, domain.ErrUnauthorized
	}
	col := "o.buyer_id"
	if asSeller {
		col = "o.seller_id"
	}
	q := "SELECT o.*, a.title AS title, a.fees AS fees FROM offers o JOIN auctions a ON a.id = o.auction_id WHERE " + col + " = ?"
	args := []any{viewer.ID}
	if auctionID != 0 {
		q += " AND o.auction_id = ?"
		args = append(args, auctionID)
	}
	var rows []struct {
		Offer offerRow `gorm:"embedded"`
		Title string
		Fees  string
	}
	if err := s.db.WithContext(ctx).Raw(q+" ORDER BY o.id DESC LIMIT 200", args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]domain.Offer, len(rows))
	now := s.now()
	for i, r := range rows {
		var fees domain.Fees
		if f := domain.DecodeFees(r.Fees); f != nil {
			fees = *f
		}
		out[i] = r.Offer.toDomain(r.Title, fees)
		if out[i].Status == domain.OfferOpen && !now.Before(out[i].ExpiresAt) {
			// Past its time, before the sweep got to it.
			out[i].Status = domain.OfferExpired
		}
	}
	return out, nil
}

func offerEvents(o domain.Offer, now time.Time, to ...int64) []domain.Event {
	note := &domain.OfferNote{ID: o.ID, Kind: o.Kind, Status: o.Status, Amount: o.Amount, BuyerID: o.BuyerID, SellerID: o.SellerID,
		ExpiresAt: o.ExpiresAt, InvoiceID: o.InvoiceID}
	out := make([]domain.Event, 0, len(to))
	for _, u := range to {
		out = append(out, domain.Event{Type: domain.EventOffer, UserID: u, AuctionID: o.AuctionID, Title: o.Title,
			Currency: o.Currency, Offer: note, CommittedAt: now})
	}
	return out
}
