package domain_test

import (
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
)

// tiered is the example: 25% up to 1,000.00 and 20% above.
var tiered = domain.Fees{BuyersPremium: []domain.PremiumTier{{UpTo: 100000, RateBPS: 2500}, {RateBPS: 2000}}}

func TestEstimateExamples(t *testing.T) {
	t.Parallel()
	vat := &domain.Tax{Label: "VAT", RateBPS: 2000, On: domain.TaxOnPremium}
	flat := func(bps int64) []domain.PremiumTier { return []domain.PremiumTier{{RateBPS: bps}} }
	tests := []struct {
		name   string
		fees   domain.Fees
		hammer int64
		want   domain.FeeEstimate
	}{
		{"no fees", domain.Fees{}, 10000, domain.FeeEstimate{Hammer: 10000, Total: 10000}},
		{"flat 25%", domain.Fees{BuyersPremium: flat(2500)}, 10000, domain.FeeEstimate{10000, 2500, 0, 12500}},
		// 100.00 → 125.00 with buyer's premium and VAT, the line.
		{"flat 20% + VAT 25% on premium", domain.Fees{BuyersPremium: flat(2000), Tax: &domain.Tax{Label: "VAT", RateBPS: 2500, On: domain.TaxOnPremium}},
			10000, domain.FeeEstimate{10000, 2000, 500, 12500}},
		{"tiers below the bound", tiered, 80000, domain.FeeEstimate{80000, 20000, 0, 100000}},
		{"tiers at the bound", tiered, 100000, domain.FeeEstimate{100000, 25000, 0, 125000}},
		// 25% of 1,000.00 + 20% of 500.00 = 250.00 + 100.00
		{"tiers above the bound", tiered, 150000, domain.FeeEstimate{150000, 35000, 0, 185000}},
		{"tax on premium", domain.Fees{BuyersPremium: flat(2500), Tax: vat}, 10001, domain.FeeEstimate{10001, 2500, 500, 13001}},
		{"tax on hammer and premium", domain.Fees{BuyersPremium: flat(1000), Tax: &domain.Tax{Label: "Sales tax", RateBPS: 825, On: domain.TaxOnHammerAndPremium}},
			10000, domain.FeeEstimate{10000, 1000, 908, 11908}}, // 8.25% of 110.00 = 9.075 → 9.08
		// half up: 12.5% of 1 minor unit is 0.125 → 0; 25% of 2 is 0.5 → 1
		{"half up rounds .5 up", domain.Fees{BuyersPremium: flat(2500)}, 2, domain.FeeEstimate{2, 1, 0, 3}},
		{"below half rounds down", domain.Fees{BuyersPremium: flat(1250)}, 1, domain.FeeEstimate{1, 0, 0, 1}},
		{"zero hammer", tiered, 0, domain.FeeEstimate{}},
		{"100% at the largest amount does not overflow", domain.Fees{BuyersPremium: flat(10000), Tax: &domain.Tax{Label: "T", RateBPS: 10000, On: domain.TaxOnHammerAndPremium}},
			domain.MaxMoney, domain.FeeEstimate{domain.MaxMoney, domain.MaxMoney, 2 * domain.MaxMoney, 4 * domain.MaxMoney}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.fees.Estimate(tt.hammer); got != tt.want {
				t.Errorf("Estimate(%d) = %+v, want %+v", tt.hammer, got, tt.want)
			}
		})
	}
}

// TestEstimateCurrencies checks the rounding rule in currencies with no
// minor unit (JPY) and with three (KWD): amounts are minor units, so a
// line rounds to a whole yen and to a whole fils.
func TestEstimateCurrencies(t *testing.T) {
	t.Parallel()
	fees := domain.Fees{BuyersPremium: []domain.PremiumTier{{RateBPS: 1750}}, Tax: &domain.Tax{Label: "VAT", RateBPS: 1000, On: domain.TaxOnPremium}}
	// ¥10,001 × 17.5% = ¥1,750.175 → ¥1,750; 10% of that = ¥175.
	if got := fees.Estimate(10001); got != (domain.FeeEstimate{10001, 1750, 175, 11926}) {
		t.Errorf("JPY: %+v", got)
	}
	if s := domain.FormatMoney(fees.Estimate(10001).Total, "JPY"); s != "11926 JPY" {
		t.Errorf("JPY total %q", s)
	}
	// 12.345 KWD = 12,345 fils × 17.5% = 2,160.375 → 2,160 fils; 10% = 216.
	if got := fees.Estimate(12345); got != (domain.FeeEstimate{12345, 2160, 216, 14721}) {
		t.Errorf("KWD: %+v", got)
	}
	if s := domain.FormatMoney(fees.Estimate(12345).Total, "KWD"); s != "14.721 KWD" {
		t.Errorf("KWD total %q", s)
	}
}

// exactPremium computes the premium with big rationals: the reference the
// integer arithmetic must match.
func exactPremium(tiers []domain.PremiumTier, hammer int64) int64 {
	sum := new(big.Rat)
	below := int64(0)
	for i, t := range tiers {
		top := t.UpTo
		if i == len(tiers)-1 || top > hammer {
			top = hammer
		}
		if top > below {
			part := new(big.Rat).SetFrac64((top-below)*1, 1)
			part.Mul(part, big.NewRat(t.RateBPS, 10000))
			sum.Add(sum, part)
			below = top
		}
	}
	return roundHalfUp(sum)
}

func roundHalfUp(r *big.Rat) int64 {
	half := new(big.Rat).Add(r, big.NewRat(1, 2))
	q := new(big.Int).Quo(half.Num(), half.Denom())
	return q.Int64()
}

func randomFees(rng *rand.Rand) domain.Fees {
	var f domain.Fees
	n := rng.IntN(4)
	bound := int64(0)
	for i := range n {
		t := domain.PremiumTier{RateBPS: rng.Int64N(domain.MaxRateBPS + 1)}
		if i < n-1 {
			bound += 1 + rng.Int64N(500_000)
			t.UpTo = bound
		}
		f.BuyersPremium = append(f.BuyersPremium, t)
	}
	if rng.IntN(2) == 0 {
		on := []domain.TaxBase{domain.TaxOnPremium, domain.TaxOnHammerAndPremium}[rng.IntN(2)]
		f.Tax = &domain.Tax{Label: "VAT", RateBPS: 1 + rng.Int64N(domain.MaxRateBPS), On: on}
	}
	return f
}

func randomHammer(rng *rand.Rand) int64 {
	switch rng.IntN(4) {
	case 0:
		return rng.Int64N(100)
	case 1:
		return domain.MaxMoney - rng.Int64N(1000)
	}
	return rng.Int64N(2_000_000)
}

// TestFeeProperties checks, on random schedules and amounts: the premium
// equals the exact rational premium rounded half up once; the tax equals
// the exact tax on the rounded lines; the total is the sum of the lines;
// fees never fall as the hammer rises; invoice lines sum to the estimate,
// and a credit note's lines to its negation.
func TestFeeProperties(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(17, 2026))
	for i := range 20000 {
		f := randomFees(rng)
		if fields := domain.ValidateFees(f); len(fields) > 0 {
			t.Fatalf("random schedule %d invalid: %v", i, fields)
		}
		h := randomHammer(rng)
		e := f.Estimate(h)
		if want := exactPremium(f.BuyersPremium, h); e.Premium != want {
			t.Fatalf("premium of %d under %+v = %d, want %d", h, f.BuyersPremium, e.Premium, want)
		}
		if f.Tax != nil {
			base := e.Premium
			if f.Tax.On == domain.TaxOnHammerAndPremium {
				base += h
			}
			want := roundHalfUp(new(big.Rat).Mul(new(big.Rat).SetInt64(base), big.NewRat(f.Tax.RateBPS, 10000)))
			if e.Tax != want {
				t.Fatalf("tax on %d = %d, want %d", base, e.Tax, want)
			}
		} else if e.Tax != 0 {
			t.Fatalf("tax without a tax: %d", e.Tax)
		}
		if e.Total != e.Hammer+e.Premium+e.Tax || e.Hammer != h {
			t.Fatalf("total %+v is not the sum of its lines", e)
		}
		if h < domain.MaxMoney {
			if next := f.Estimate(h + 1); next.Premium < e.Premium || next.Tax < e.Tax {
				t.Fatalf("fees fell from %+v to %+v", e, next)
			}
		}
		lines := domain.LotLines(domain.LotSold{AuctionID: 1, Title: "x", Hammer: h, Fees: f}, "EUR")
		sum, err := domain.SumLines(lines)
		if err != nil || sum != e.Total {
			t.Fatalf("lines %+v sum to %d (%v), want %d", lines, sum, err, e.Total)
		}
		credit, err := domain.SumLines(domain.CreditLines(domain.Invoice{Lines: lines}))
		if err != nil || credit != -e.Total {
			t.Fatalf("credit lines sum to %d (%v), want %d", credit, err, -e.Total)
		}
	}
}

// TestInvoiceTotalsProperty builds invoices of many lots in random
// currencies and checks the total is the sum of every lot's estimate.
func TestInvoiceTotalsProperty(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 14))
	for range 2000 {
		f := randomFees(rng)
		cur := []string{"EUR", "JPY", "KWD"}[rng.IntN(3)]
		var lines []domain.InvoiceLine
		var want int64
		for n := 1 + rng.IntN(20); n > 0; n-- {
			h := rng.Int64N(10_000_000)
			lines = append(lines, domain.LotLines(domain.LotSold{AuctionID: int64(n), LotNumber: n, Title: "Lot", Hammer: h, Fees: f}, cur)...)
			want += f.Estimate(h).Total
		}
		if got, err := domain.SumLines(lines); err != nil || got != want {
			t.Fatalf("%s invoice: lines sum to %d (%v), want %d", cur, got, err, want)
		}
	}
}

func TestValidateFees(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fees  domain.Fees
		field string // "" when valid
	}{
		{"empty", domain.Fees{}, ""},
		{"flat", domain.Fees{BuyersPremium: []domain.PremiumTier{{RateBPS: 2500}}}, ""},
		{"tiers", tiered, ""},
		{"last tier with up_to", domain.Fees{BuyersPremium: []domain.PremiumTier{{UpTo: 100, RateBPS: 1}}}, "buyers_premium"},
		{"tiers not rising", domain.Fees{BuyersPremium: []domain.PremiumTier{{UpTo: 100, RateBPS: 1}, {UpTo: 100, RateBPS: 1}, {RateBPS: 1}}}, "buyers_premium"},
		{"missing bound", domain.Fees{BuyersPremium: []domain.PremiumTier{{RateBPS: 1}, {RateBPS: 1}}}, "buyers_premium"},
		{"rate above 100%", domain.Fees{BuyersPremium: []domain.PremiumTier{{RateBPS: 10001}}}, "buyers_premium"},
		{"negative rate", domain.Fees{BuyersPremium: []domain.PremiumTier{{RateBPS: -1}}}, "buyers_premium"},
		{"tax without label", domain.Fees{Tax: &domain.Tax{RateBPS: 2000, On: domain.TaxOnPremium}}, "tax"},
		{"tax base unknown", domain.Fees{Tax: &domain.Tax{Label: "VAT", RateBPS: 2000, On: "total"}}, "tax"},
		{"tax label with NUL", domain.Fees{Tax: &domain.Tax{Label: "V\x00AT", RateBPS: 2000, On: domain.TaxOnPremium}}, "tax"},
		{"pickup", domain.Fees{Shipping: []domain.ShippingOption{{Kind: domain.ShippingPickup, Where: "Utrecht"}}}, ""},
		{"pickup without where", domain.Fees{Shipping: []domain.ShippingOption{{Kind: domain.ShippingPickup}}}, "shipping"},
		{"pickup with a charge", domain.Fees{Shipping: []domain.ShippingOption{{Kind: domain.ShippingPickup, Where: "x", Amount: 1}}}, "shipping"},
		{"delivery", domain.Fees{Shipping: []domain.ShippingOption{{Kind: domain.ShippingDelivery, Region: "EU", Amount: 1500}}}, ""},
		{"delivery negative", domain.Fees{Shipping: []domain.ShippingOption{{Kind: domain.ShippingDelivery, Region: "EU", Amount: -1}}}, "shipping"},
		{"unknown kind", domain.Fees{Shipping: []domain.ShippingOption{{Kind: "drone"}}}, "shipping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fields := domain.ValidateFees(tt.fees.Normalize())
			if tt.field == "" && len(fields) > 0 {
				t.Errorf("valid schedule refused: %v", fields)
			}
			if tt.field != "" && fields[tt.field] == "" {
				t.Errorf("want a message on %s, got %v", tt.field, fields)
			}
		})
	}
}

func TestTermsWording(t *testing.T) {
	t.Parallel()
	f := tiered
	f.Tax = &domain.Tax{Label: "VAT", RateBPS: 2100, On: domain.TaxOnHammerAndPremium}
	f.Shipping = []domain.ShippingOption{{Kind: domain.ShippingPickup, Where: "Oudegracht 1, Utrecht", When: "Mon–Fri 10–17"},
		{Kind: domain.ShippingDelivery, Region: "EU", Amount: 2500}}
	got := strings.Join(f.Terms("EUR"), "\n")
	want := "Buyer's premium: 25% of the hammer price up to 1000.00 EUR, 20% above.\n" +
		"VAT: 21% on the hammer price and the buyer's premium.\n" +
		"Collection from Oudegracht 1, Utrecht (Mon–Fri 10–17), free.\n" +
		"Delivery to EU: 25.00 EUR per invoice."
	if got != want {
		t.Errorf("terms:\n%s\nwant:\n%s", got, want)
	}
	for bps, want := range map[int64]string{2500: "25%", 2050: "20.5%", 1: "0.01%", 0: "0%", 10000: "100%", 825: "8.25%"} {
		if got := domain.FormatRate(bps); got != want {
			t.Errorf("FormatRate(%d) = %q, want %q", bps, got, want)
		}
	}
}
