package bidding

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/gavel-auctions/gavel/domain"
)

// countingLogger counts the statements GORM runs.
type countingLogger struct{ n atomic.Int64 }

func (l *countingLogger) LogMode(logger.LogLevel) logger.Interface { return l }
func (l *countingLogger) Info(context.Context, string, ...any)     {}
func (l *countingLogger) Warn(context.Context, string, ...any)     {}
func (l *countingLogger) Error(context.Context, string, ...any)    {}
func (l *countingLogger) Trace(context.Context, time.Time, func() (string, int64), error) {
	l.n.Add(1)
}

// TestSaleFeesCostNoQueryPerLot: lots take their sale's fees in the
// statements that insert them, so a 1,000-lot import with fees runs a
// handful of statements more than a 20-lot one (one insert per 200 lots),
// not one per lot; a fee edit re-copies them in a few statements too.
func TestSaleFeesCostNoQueryPerLot(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		count := &countingLogger{}
		s := mustService(t, db.Session(&gorm.Session{Logger: count}), newClock(t0))
		seller := mustUser(t, s, false)
		fees := &domain.Fees{BuyersPremium: []domain.PremiumTier{{RateBPS: 2500}}, Tax: &domain.Tax{Label: "VAT", RateBPS: 2100, On: domain.TaxOnPremium}}
		opens := saleOpens
		in := domain.SaleInput{Title: "Stamps", Currency: "EUR", OpensAt: &opens, FirstCloseAt: saleFirstClose, GapSeconds: intp(1), Fees: fees}
		statements := func(n int) (added, refeed int64) {
			sale, err := s.CreateSale(ctx, seller, in)
			if err != nil {
				t.Fatal(err)
			}
			lots := make([]domain.LotInput, n)
			for i := range lots {
				lots[i] = domain.LotInput{LotNumber: i + 1, Title: "Stamp", StartPrice: 100}
			}
			before := count.n.Load()
			if _, err := s.AddLots(ctx, seller, sale.ID, lots); err != nil {
				t.Fatal(err)
			}
			added = count.n.Load() - before
			edit := in
			edit.Fees = &domain.Fees{BuyersPremium: []domain.PremiumTier{{RateBPS: 2000}}}
			before = count.n.Load()
			if _, err := s.UpdateSale(ctx, seller, sale.ID, edit); err != nil {
				t.Fatal(err)
			}
			refeed = count.n.Load() - before
			got, err := s.Lots(ctx, sale.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n || !domain.SameFees(got[n-1].Fees, edit.Fees) {
				t.Fatalf("%d lots, the last with %+v", len(got), got[n-1].Fees)
			}
			return added, refeed
		}
		smallAdd, smallEdit := statements(20)
		bigAdd, bigEdit := statements(1000)
		t.Logf("statements: add 20 lots %d, 1000 lots %d; fee edit over 20 lots %d, 1000 lots %d", smallAdd, bigAdd, smallEdit, bigEdit)
		if bigAdd-smallAdd > 20 {
			t.Errorf("adding 1,000 lots ran %d statements, 20 lots %d: a statement per lot", bigAdd, smallAdd)
		}
		if s.pg && bigEdit-smallEdit > 10 {
			// SQLite saves rescheduled lots one by one, as before fees.
			t.Errorf("a fee edit over 1,000 lots ran %d statements, over 20 lots %d", bigEdit, smallEdit)
		}
	})
}
