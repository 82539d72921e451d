package invoicing

import (
	"context"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// commissionSetting names the platform default in platform_settings.
const commissionSetting = "commission_bps"

// SellerSettings returns a seller's defaults (the built-in ones when they
// never saved any).
func (s *Service) SellerSettings(ctx context.Context, sellerID int64) (domain.SellerSettings, error) {
	return s.settingsTx(s.db.WithContext(ctx), sellerID)
}

func (s *Service) settingsTx(tx *gorm.DB, sellerID int64) (domain.SellerSettings, error) {
	var rows []settingsRow
	if err := tx.Where("user_id = ?", sellerID).Limit(1).Find(&rows).Error; err != nil {
		return domain.SellerSettings{}, err
	}
	out := domain.SellerSettings{DueDays: domain.DefaultDueDays}
	if len(rows) == 0 {
		return out, nil
	}
	r := rows[0]
	if f := domain.DecodeFees(r.Fees); f != nil {
		out.Fees = *f
	}
	out.Currency, out.PaymentInstructions, out.CommissionBPS = r.Currency, r.PaymentInstructions, r.CommissionBPS
	if r.DueDays > 0 {
		out.DueDays = r.DueDays
	}
	return out, nil
}

// PutSellerSettings saves a seller's defaults. They apply to listings
// created from now on and to invoices issued from now on; listed lots keep
// the fees they were listed with. The commission is the admins' to set
// and is left as it is.
func (s *Service) PutSellerSettings(ctx context.Context, seller domain.User, in domain.SellerSettings) (domain.SellerSettings, error) {
	if seller.ID == 0 {
		return domain.SellerSettings{}, domain.ErrUnauthorized
	}
	if seller.Suspended {
		return domain.SellerSettings{}, domain.ErrSuspended
	}
	in.Fees = in.Fees.Normalize()
	in.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	in.PaymentInstructions = strings.TrimSpace(in.PaymentInstructions)
	if in.DueDays == 0 {
		in.DueDays = domain.DefaultDueDays
	}
	if err := domain.ValidateSellerSettings(in); err != nil {
		return domain.SellerSettings{}, err
	}
	fees := ""
	if !in.Fees.IsZero() {
		fees = encodeJSON(in.Fees)
	}
	now := s.now()
	err := s.out.Transact(ctx, func(tx *gorm.DB) ([]domain.Event, error) {
		return nil, tx.Exec(`INSERT INTO seller_settings (user_id, fees, currency, payment_instructions, due_days, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET fees = excluded.fees, currency = excluded.currency,
			payment_instructions = excluded.payment_instructions, due_days = excluded.due_days, updated_at = excluded.updated_at`,
			seller.ID, fees, in.Currency, in.PaymentInstructions, in.DueDays, now).Error
	})
	if err != nil {
		return domain.SellerSettings{}, err
	}
	return s.SellerSettings(ctx, seller.ID)
}

// DefaultFees is the fee schedule a seller's new listing in currency gets
// when it brings none; bidding calls it (bidding.Options.DefaultFees).
func (s *Service) DefaultFees(ctx context.Context, sellerID int64, currency string) (*domain.Fees, error) {
	set, err := s.SellerSettings(ctx, sellerID)
	if err != nil {
		return nil, err
	}
	f, err := set.FeesFor(currency)
	if err != nil || f.IsZero() {
		return nil, err
	}
	return &f, nil
}

// PlatformCommission returns the platform's default commission rate.
func (s *Service) PlatformCommission(ctx context.Context) (int64, error) {
	return s.platformCommission(s.db.WithContext(ctx))
}

func (s *Service) platformCommission(tx *gorm.DB) (int64, error) {
	var v []string
	if err := tx.Raw("SELECT value FROM platform_settings WHERE name = ?", commissionSetting).Scan(&v).Error; err != nil {
		return 0, err
	}
	if len(v) == 0 {
		return s.cfg.CommissionBPS, nil
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil {
		return s.cfg.CommissionBPS, nil
	}
	return n, nil
}

// commissionTx is the rate a seller's new invoice records.
func (s *Service) commissionTx(tx *gorm.DB, set domain.SellerSettings) (int64, error) {
	if set.CommissionBPS != nil {
		return *set.CommissionBPS, nil
	}
	return s.platformCommission(tx)
}

// SetCommission sets the platform's commission (admins only): the default
// when sellerID is 0, else one seller's; a nil rate returns that seller
// to the default. It applies to invoices issued from now on.
func (s *Service) SetCommission(ctx context.Context, admin domain.User, sellerID int64, bps *int64) error {
	if !admin.Admin || admin.Suspended {
		return domain.ErrNotAdmin
	}
	if bps != nil {
		if err := domain.CheckCommission(*bps); err != nil {
			return err
		}
	} else if sellerID == 0 {
		return domain.Invalid("rate_bps", "Give the default commission as rate_bps, from 0 to 10000.")
	}
	now := s.now()
	return s.out.Transact(ctx, func(tx *gorm.DB) ([]domain.Event, error) {
		reason := "default"
		if bps != nil {
			reason = domain.FormatRate(*bps)
		}
		if sellerID == 0 {
			err := tx.Exec(`INSERT INTO platform_settings (name, value, updated_at) VALUES (?, ?, ?)
				ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
				commissionSetting, strconv.FormatInt(*bps, 10), now).Error
			if err != nil {
				return nil, err
			}
			return nil, audit(tx, admin.ID, "set_commission", 0, "platform default: "+reason, now)
		}
		if _, err := party(tx, sellerID); err != nil {
			return nil, err
		}
		err := tx.Exec(`INSERT INTO seller_settings (user_id, commission_bps, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET commission_bps = excluded.commission_bps, updated_at = excluded.updated_at`,
			sellerID, bps, now).Error
		if err != nil {
			return nil, err
		}
		return nil, audit(tx, admin.ID, "set_commission", sellerID, reason, now)
	})
}
