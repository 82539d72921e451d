package bidding

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// CreateSale creates a draft sale for seller. Nothing is public until it
// is published. A sale sent without fees takes the seller's defaults, as a
// single listing does, and passes them to its lots.
func (s *Service) CreateSale(ctx context.Context, seller domain.User, in domain.SaleInput) (domain.Sale, error) {
	if err := mayAct(seller); err != nil {
		return domain.Sale{}, err
	}
	fees, err := s.listingFees(ctx, seller.ID, in.Currency, in.Fees)
	if err != nil {
		return domain.Sale{}, err
	}
	in.Fees = fees
	sale, err := domain.NewSale(seller.ID, in, s.now())
	if err != nil {
		return domain.Sale{}, err
	}
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		// As CreateAuction: a suspension that committed since the seller
		// was read must win.
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
		row := saleToRow(sale)
		row.ID = 0
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		sale.ID = row.ID
		return nil
	})
	return sale, err
}

// UpdateSale lets the seller change a sale until it opens; the lots are
// rescheduled to match.
func (s *Service) UpdateSale(ctx context.Context, actor domain.User, id int64, in domain.SaleInput) (domain.Sale, error) {
	if err := mayAct(actor); err != nil {
		return domain.Sale{}, err
	}
	var out domain.Sale
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		sale, lots, err := s.lockSale(tx, id, allLots)
		if err != nil {
			return err
		}
		if sale.SellerID != actor.ID {
			return domain.ErrNotSeller
		}
		now := s.now()
		next, err := domain.EditSale(sale, in, now)
		if err != nil {
			return err
		}
		if next.Currency != sale.Currency && len(lots) > 0 {
			return domain.Invalid("currency", "The currency cannot change once the sale has lots: their prices are in "+sale.Currency+".")
		}
		if err := domain.CheckSchedule(next, len(lots), now); err != nil {
			return err
		}
		out = next
		_, err = s.saveSchedule(tx, next, domain.Schedule(next, lots, now), now)
		return err
	})
	if err == nil {
		s.notifyCommitted()
	}
	return out, err
}

// saveSchedule saves a sale that has not opened after a change, with the
// lots the change moved; a published sale tells its watchers. It returns
// the lots as saved.
func (s *Service) saveSchedule(tx *gorm.DB, sale domain.Sale, changed []domain.Auction, now time.Time) ([]domain.Auction, error) {
	var events []domain.Event
	if sale.Status == domain.SaleScheduled {
		for i := range changed {
			changed[i].Seq++
			changed[i].UpdatedAt = now
			events = append(events, domain.StateEvent(domain.EventPrice, changed[i], now))
		}
		events = append(events, domain.SaleEvent(domain.EventSaleUpdated, sale, now))
	}
	if err := s.saveLots(tx, changed); err != nil {
		return nil, err
	}
	if err := saveSale(tx, sale); err != nil {
		return nil, err
	}
	return changed, s.writeEvents(tx, events)
}

// PublishSale makes a draft sale public: scheduled, or open at once when
// its opening has come.
func (s *Service) PublishSale(ctx context.Context, actor domain.User, id int64) (domain.Sale, error) {
	if err := mayAct(actor); err != nil {
		return domain.Sale{}, err
	}
	var out domain.Sale
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		sale, lots, err := s.lockSale(tx, id, allLots)
		if err != nil {
			return err
		}
		if sale.SellerID != actor.ID {
			return domain.ErrNotSeller
		}
		now := s.now()
		next, changed, events, err := domain.PublishSale(sale, lots, now)
		if err != nil {
			return err
		}
		if err := s.saveLots(tx, changed); err != nil {
			return err
		}
		if err := saveSale(tx, next); err != nil {
			return err
		}
		out = next
		return s.writeEvents(tx, events)
	})
	if err == nil {
		s.notifyCommitted()
	}
	return out, err
}

// CancelSale cancels a sale and its unclosed lots: its seller may until it
// opens, an admin at any time (recorded in the audit log).
func (s *Service) CancelSale(ctx context.Context, actor domain.User, id int64, reason string) (domain.Sale, error) {
	if err := mayAct(actor); err != nil {
		return domain.Sale{}, err
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return domain.Sale{}, err
	}
	var out domain.Sale
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		sale, lots, err := s.lockSale(tx, id, unclosedLots)
		if err != nil {
			return err
		}
		now := s.now()
		switch {
		case actor.Admin:
		case actor.ID != sale.SellerID:
			return domain.ErrNotSeller
		case !domain.CanEditSale(sale, now) && sale.Status != domain.SaleClosed && sale.Status != domain.SaleCancelled:
			return &domain.Error{Code: domain.CodeConflict, Message: "Bidding on this sale has started: only the auction house's administrators can cancel it now."}
		}
		next, changed, events, err := domain.CancelSale(sale, lots, reason, now)
		if err != nil {
			return err
		}
		if err := s.commitSaleChange(tx, next, changed, events); err != nil {
			return err
		}
		out = next
		if actor.Admin {
			return tx.Create(&auditRow{ActorID: actor.ID, Action: "cancel_sale", TargetID: id, Reason: reason, CreatedAt: now}).Error
		}
		return nil
	})
	if err == nil {
		s.notifyCommitted()
	}
	return out, err
}

// PauseSale stops every lot's clock (admins only, audited): bids are
// refused and nothing closes until ResumeSale.
func (s *Service) PauseSale(ctx context.Context, admin domain.User, id int64, reason string) (domain.Sale, error) {
	return s.adminSaleChange(ctx, admin, id, reason, "pause_sale", domain.PauseSale)
}

// ResumeSale restarts a paused sale (admins only, audited): every unclosed
// lot ends later by the length of the pause.
func (s *Service) ResumeSale(ctx context.Context, admin domain.User, id int64, reason string) (domain.Sale, error) {
	return s.adminSaleChange(ctx, admin, id, reason, "resume_sale", domain.ResumeSale)
}

type saleChange func(domain.Sale, []domain.Auction, time.Time) (domain.Sale, []domain.Auction, []domain.Event, error)

func (s *Service) adminSaleChange(ctx context.Context, admin domain.User, id int64, reason, action string, change saleChange) (domain.Sale, error) {
	if !admin.Admin || admin.Suspended {
		return domain.Sale{}, domain.ErrNotAdmin
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return domain.Sale{}, err
	}
	var out domain.Sale
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		sale, lots, err := s.lockSale(tx, id, runningLots)
		if err != nil {
			return err
		}
		now := s.now()
		next, changed, events, err := change(sale, lots, now)
		if err != nil {
			return err
		}
		if err := s.commitSaleChange(tx, next, changed, events); err != nil {
			return err
		}
		out = next
		return tx.Create(&auditRow{ActorID: admin.ID, Action: action, TargetID: id, Reason: reason, CreatedAt: now}).Error
	})
	if err == nil {
		s.notifyCommitted()
	}
	return out, err
}

// commitSaleChange writes a sale, the lots a change moved and its events.
func (s *Service) commitSaleChange(tx *gorm.DB, sale domain.Sale, lots []domain.Auction, events []domain.Event) error {
	if err := s.saveLots(tx, lots); err != nil {
		return err
	}
	if err := saveSale(tx, sale); err != nil {
		return err
	}
	return s.writeEvents(tx, events)
}

// AddLots adds lots to a sale that has not opened: one from the API, or a
// whole file. All or none are added; the sale is rescheduled to fit them.
func (s *Service) AddLots(ctx context.Context, actor domain.User, saleID int64, in []domain.LotInput) ([]domain.Auction, error) {
	if err := mayAct(actor); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, domain.Invalid("lots", "Send at least one lot.")
	}
	var added []domain.Auction
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		added = added[:0]
		sale, lots, err := s.lockSale(tx, saleID, allLots)
		if err != nil {
			return err
		}
		if sale.SellerID != actor.ID {
			return domain.ErrNotSeller
		}
		now := s.now()
		taken := make(map[int]bool, len(lots)+len(in))
		for _, l := range lots {
			taken[l.LotNumber] = true
		}
		for _, li := range in {
			a, err := domain.NewLot(sale, li, now)
			if err != nil {
				return err
			}
			if taken[a.LotNumber] {
				return domain.ErrDuplicateLot(a.LotNumber)
			}
			taken[a.LotNumber] = true
			added = append(added, a)
		}
		if err := domain.CheckSchedule(sale, len(lots)+len(added), now); err != nil {
			return err
		}
		all := append(lots, added...)
		var moved []domain.Auction
		for _, a := range domain.Schedule(sale, all, now) {
			if a.ID != 0 {
				moved = append(moved, a)
			}
		}
		added = added[:0]
		for _, a := range all {
			if a.ID == 0 {
				added = append(added, a)
			}
		}
		rows := make([]auctionRow, len(added))
		for i, a := range added {
			rows[i] = auctionToRow(a)
		}
		if err := tx.CreateInBatches(&rows, 200).Error; err != nil {
			if uniqueViolation(err) {
				return &domain.Error{Code: domain.CodeConflict, Message: "Another change to this sale's lots happened at the same time. Please try again."}
			}
			return err
		}
		for i := range added {
			added[i].ID = rows[i].ID
		}
		_, err = s.saveSchedule(tx, sale, moved, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.notifyCommitted()
	return added, nil
}

// UpdateLot lets the seller change a lot until its first bid; its number
// (its place) only until the sale opens.
func (s *Service) UpdateLot(ctx context.Context, actor domain.User, saleID, lotID int64, in domain.LotInput) (domain.Auction, error) {
	if err := mayAct(actor); err != nil {
		return domain.Auction{}, err
	}
	var out domain.Auction
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		sale, lots, err := s.lockSale(tx, saleID, allLots)
		if err != nil {
			return err
		}
		if sale.SellerID != actor.ID {
			return domain.ErrNotSeller
		}
		idx := -1
		for i, l := range lots {
			if l.ID == lotID {
				idx = i
			} else if l.LotNumber == in.LotNumber {
				return domain.ErrDuplicateLot(in.LotNumber)
			}
		}
		if idx < 0 {
			return domain.ErrLotNotFound
		}
		now := s.now()
		next, err := domain.EditLot(sale, lots[idx], in, now)
		if err != nil {
			return err
		}
		row := auctionToRow(next)
		if err := tx.Model(&auctionRow{}).Where("id = ?", lotID).Select("*").Omit("id", "seller_id", "sale_id", "created_at").
			Updates(&row).Error; err != nil {
			return err
		}
		lots[idx] = next
		if !domain.CanEditSale(sale, now) {
			// The sale is running: the lot keeps its place and times, and
			// its watchers redraw from the event, as for any auction.
			next.Seq++
			out = next
			if err := s.saveLots(tx, []domain.Auction{next}); err != nil {
				return err
			}
			return s.writeEvents(tx, []domain.Event{domain.StateEvent(domain.EventPrice, next, now)})
		}
		changed := domain.Schedule(sale, lots, now)
		if !containsLot(changed, lotID) {
			changed = append(changed, next)
		}
		saved, err := s.saveSchedule(tx, sale, changed, now)
		for _, l := range saved {
			if l.ID == lotID {
				out = l
			}
		}
		return err
	})
	if err == nil {
		s.notifyCommitted()
	}
	return out, err
}

func containsLot(lots []domain.Auction, id int64) bool {
	for _, l := range lots {
		if l.ID == id {
			return true
		}
	}
	return false
}
