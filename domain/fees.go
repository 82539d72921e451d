package domain

import (
	"encoding/json"
	"math/bits"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a fee schedule.
const (
	// MaxRateBPS is 100%, in basis points (1 bps = 0.01%).
	MaxRateBPS         = 10_000
	MaxPremiumTiers    = 10
	MaxShippingOptions = 20
	MaxTaxLabelRunes   = 40
	MaxShippingRunes   = 200
)

// PremiumTier is one band of a buyer's premium: RateBPS of the part of the
// hammer price up to UpTo (minor units). The last tier has no UpTo and
// covers everything above the one before it; a single tier is a flat rate.
// Tiers are marginal, as at the big houses: 25% up to 1,000.00 and 20%
// above charges 25% on the first 1,000.00 and 20% on the rest.
type PremiumTier struct {
	UpTo    int64 `json:"up_to,omitempty"`
	RateBPS int64 `json:"rate_bps"`
}

// TaxBase says what a tax rate applies to.
type TaxBase string

// The tax bases: the buyer's premium only (the margin scheme most EU
// auction houses use), or the hammer and the premium.
const (
	TaxOnPremium          TaxBase = "premium"
	TaxOnHammerAndPremium TaxBase = "hammer_and_premium"
)

// Tax is an optional tax on what the winner pays, such as VAT.
type Tax struct {
	Label   string  `json:"label"`
	RateBPS int64   `json:"rate_bps"`
	On      TaxBase `json:"on"`
}

// ShippingKind says how a lot reaches its winner.
type ShippingKind string

// The shipping kinds: collection in person, or delivery at a flat rate.
const (
	ShippingPickup   ShippingKind = "pickup"
	ShippingDelivery ShippingKind = "delivery"
)

// ShippingOption is one way the winner may receive their lots; the winner
// picks one at checkout. A flat delivery rate is charged once per invoice,
// as quoted (any tax included): tax rates apply to hammer and premium only.
type ShippingOption struct {
	Kind   ShippingKind `json:"kind"`
	Label  string       `json:"label,omitempty"`
	Where  string       `json:"where,omitempty"`  // pickup: the address
	When   string       `json:"when,omitempty"`   // pickup: days and hours
	Region string       `json:"region,omitempty"` // delivery: where to
	Amount int64        `json:"amount"`           // delivery: the flat rate; pickup: 0
}

// Fees are the terms a lot is sold under: the buyer's premium, the tax,
// and the shipping and collection options. A lot keeps a copy taken when
// it is listed (or edited before its first bid), so what a bidder was
// shown is what the winner pays, whatever the seller's defaults become.
type Fees struct {
	BuyersPremium []PremiumTier    `json:"buyers_premium,omitempty"`
	Tax           *Tax             `json:"tax,omitempty"`
	Shipping      []ShippingOption `json:"shipping,omitempty"`
}

// IsZero reports whether f charges nothing and offers no shipping choice.
func (f Fees) IsZero() bool {
	return len(f.BuyersPremium) == 0 && f.Tax == nil && len(f.Shipping) == 0
}

// FeeEstimate is what a winner pays for a lot at a hammer price, before
// shipping. Total is always Hammer + Premium + Tax.
type FeeEstimate struct {
	Hammer  int64 `json:"hammer"`
	Premium int64 `json:"premium"`
	Tax     int64 `json:"tax"`
	Total   int64 `json:"total"`
}

// The rounding rule (docs/INVOICING.md): every line (premium, tax) is
// computed exactly from integer minor units and rounded once, half up, to
// the currency's minor unit (a whole yen for JPY, a fils for KWD); a total
// is the sum of its rounded lines, so it always equals them. The premium
// line sums its tiers exactly before its one rounding; the tax line is
// computed on the rounded premium (and the hammer), as the invoice shows
// them.

// u128 accumulates products of amounts and rates without overflow:
// 2·MaxMoney × MaxRateBPS is beyond uint64.
type u128 struct{ hi, lo uint64 }

func (x *u128) addMul(a, b uint64) {
	hi, lo := bits.Mul64(a, b)
	var c uint64
	x.lo, c = bits.Add64(x.lo, lo, 0)
	x.hi, _ = bits.Add64(x.hi, hi, c)
}

// divHalfUp returns x / d rounded half up. The quotient fits: callers
// divide sums of amount × rate by the rate's scale.
func (x u128) divHalfUp(d uint64) uint64 {
	x.addMul(1, d/2)
	if x.hi >= d {
		// Not reached within MaxMoney; saturate rather than panic.
		return 1<<63 - 1
	}
	q, _ := bits.Div64(x.hi, x.lo, d)
	return q
}

// Premium returns the buyer's premium on a hammer price, rounded once.
func (f Fees) Premium(hammer int64) int64 {
	if hammer <= 0 || len(f.BuyersPremium) == 0 {
		return 0
	}
	var sum u128
	var below int64
	for i, t := range f.BuyersPremium {
		top := t.UpTo
		if i == len(f.BuyersPremium)-1 || top <= 0 || top > hammer {
			top = hammer
		}
		if top > below {
			sum.addMul(uint64(top-below), uint64(t.RateBPS))
			below = top
		}
		if below >= hammer {
			break
		}
	}
	return int64(sum.divHalfUp(MaxRateBPS))
}

// TaxOn returns the tax on a lot whose hammer and (rounded) premium are
// given, rounded once; 0 without a tax.
func (f Fees) TaxOn(hammer, premium int64) int64 {
	if f.Tax == nil || f.Tax.RateBPS <= 0 {
		return 0
	}
	base := premium
	if f.Tax.On == TaxOnHammerAndPremium {
		base += hammer
	}
	if base <= 0 {
		return 0
	}
	var x u128
	x.addMul(uint64(base), uint64(f.Tax.RateBPS))
	return int64(x.divHalfUp(MaxRateBPS))
}

// Estimate returns what a winner pays at a hammer price, before shipping.
// It is pure: the bid receipt, the auction resource, the invoice and the
// page's script all compute the same numbers.
func (f Fees) Estimate(hammer int64) FeeEstimate {
	if hammer < 0 {
		hammer = 0
	}
	p := f.Premium(hammer)
	t := f.TaxOn(hammer, p)
	return FeeEstimate{Hammer: hammer, Premium: p, Tax: t, Total: hammer + p + t}
}

// ValidateFees checks a fee schedule in currency and returns a message per
// field ("buyers_premium", "tax", "shipping"); empty when it is valid.
func ValidateFees(f Fees) map[string]string {
	fields := map[string]string{}
	if msg := checkPremium(f.BuyersPremium); msg != "" {
		fields["buyers_premium"] = msg
	}
	if f.Tax != nil {
		if msg := checkTax(*f.Tax); msg != "" {
			fields["tax"] = msg
		}
	}
	if msg := checkShipping(f.Shipping); msg != "" {
		fields["shipping"] = msg
	}
	return fields
}

func checkPremium(tiers []PremiumTier) string {
	if len(tiers) > MaxPremiumTiers {
		return "Use at most 10 premium tiers."
	}
	var prev int64
	for i, t := range tiers {
		n := strconv.Itoa(i + 1)
		if t.RateBPS < 0 || t.RateBPS > MaxRateBPS {
			return "Tier " + n + ": rate_bps must be from 0 to 10000 (100%)."
		}
		last := i == len(tiers)-1
		switch {
		case last && t.UpTo != 0:
			return "The last tier has no up_to: it covers everything above the tier before it."
		case !last && t.UpTo <= prev:
			return "Tier " + n + ": up_to must be above the previous tier's, in minor units of the currency."
		case !last && t.UpTo > MaxMoney:
			return "Tier " + n + ": up_to is too large."
		}
		prev = t.UpTo
	}
	return ""
}

func checkTax(t Tax) string {
	label := strings.TrimSpace(t.Label)
	switch {
	case label == "" || utf8.RuneCountInString(label) > MaxTaxLabelRunes || !cleanText(label):
		return "Give the tax a label of up to 40 characters, such as VAT or sales tax."
	case t.RateBPS <= 0 || t.RateBPS > MaxRateBPS:
		return "The tax rate_bps must be from 1 to 10000 (100%)."
	case t.On != TaxOnPremium && t.On != TaxOnHammerAndPremium:
		return `The tax "on" must be "premium" or "hammer_and_premium".`
	}
	return ""
}

func checkShipping(opts []ShippingOption) string {
	if len(opts) > MaxShippingOptions {
		return "Offer at most 20 shipping and collection options."
	}
	for i, o := range opts {
		n := "Option " + strconv.Itoa(i+1) + ": "
		for _, s := range []string{o.Label, o.Where, o.When, o.Region} {
			if utf8.RuneCountInString(s) > MaxShippingRunes || !cleanText(s) {
				return n + "keep each text to 200 characters of plain text."
			}
		}
		switch o.Kind {
		case ShippingPickup:
			if strings.TrimSpace(o.Where) == "" {
				return n + `a pickup needs "where": the address to collect from.`
			}
			if o.Amount != 0 {
				return n + "a pickup has no charge (amount 0)."
			}
		case ShippingDelivery:
			if strings.TrimSpace(o.Region) == "" {
				return n + `a delivery needs "region", such as "Netherlands" or "EU".`
			}
			if o.Amount < 0 || o.Amount > MaxMoney {
				return n + "the delivery amount must be from 0, in minor units."
			}
		default:
			return n + `"kind" must be "pickup" or "delivery".`
		}
	}
	return ""
}

// cleanText reports whether s is valid UTF-8 without control characters
// (PostgreSQL refuses NUL; the others would garble a printed invoice).
func cleanText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// Normalize trims the schedule's texts and fills the defaults (a tax with
// no base is on the premium).
func (f Fees) Normalize() Fees {
	if f.Tax != nil {
		t := *f.Tax
		t.Label = strings.TrimSpace(t.Label)
		if t.On == "" {
			t.On = TaxOnPremium
		}
		f.Tax = &t
	}
	if len(f.Shipping) > 0 {
		opts := make([]ShippingOption, len(f.Shipping))
		for i, o := range f.Shipping {
			o.Label, o.Where, o.When, o.Region = strings.TrimSpace(o.Label), strings.TrimSpace(o.Where), strings.TrimSpace(o.When), strings.TrimSpace(o.Region)
			opts[i] = o
		}
		f.Shipping = opts
	}
	if len(f.BuyersPremium) == 0 {
		f.BuyersPremium = nil
	}
	return f
}

// FormatRate renders basis points as a percentage: 2500 as "25%", 2050 as
// "20.5%".
func FormatRate(bps int64) string {
	s := strconv.FormatInt(bps/100, 10)
	if frac := bps % 100; frac != 0 {
		f := strconv.FormatInt(frac+100, 10)[1:]
		s += "." + strings.TrimRight(f, "0")
	}
	return s + "%"
}

// DescribePremium says in words what the buyer's premium is.
func (f Fees) DescribePremium(currency string) string {
	tiers := f.BuyersPremium
	switch {
	case len(tiers) == 0 || (len(tiers) == 1 && tiers[0].RateBPS == 0):
		return "No buyer's premium."
	case len(tiers) == 1:
		return "Buyer's premium: " + FormatRate(tiers[0].RateBPS) + " of the hammer price."
	}
	var b strings.Builder
	b.WriteString("Buyer's premium: ")
	for i, t := range tiers {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(FormatRate(t.RateBPS))
		if i == 0 {
			b.WriteString(" of the hammer price up to " + FormatMoney(t.UpTo, currency))
		} else if t.UpTo != 0 {
			b.WriteString(" from there up to " + FormatMoney(t.UpTo, currency))
		} else {
			b.WriteString(" above")
		}
	}
	b.WriteString(".")
	return b.String()
}

// DescribeTax says in words what the tax is, "" when there is none.
func (f Fees) DescribeTax() string {
	if f.Tax == nil {
		return ""
	}
	on := "the buyer's premium"
	if f.Tax.On == TaxOnHammerAndPremium {
		on = "the hammer price and the buyer's premium"
	}
	return f.Tax.Label + ": " + FormatRate(f.Tax.RateBPS) + " on " + on + "."
}

// Describe says in words how one shipping option works.
func (o ShippingOption) Describe(currency string) string {
	if o.Kind == ShippingPickup {
		s := "Collection from " + o.Where
		if o.When != "" {
			s += " (" + o.When + ")"
		}
		if o.Label != "" {
			s = o.Label + ": " + s
		}
		return s + ", free."
	}
	s := "Delivery to " + o.Region + ": " + FormatMoney(o.Amount, currency) + " per invoice."
	if o.Label != "" {
		s = o.Label + ": " + s
	}
	return s
}

// Terms are the fee schedule's sentences for a lot page and an invoice.
func (f Fees) Terms(currency string) []string {
	out := []string{f.DescribePremium(currency)}
	if t := f.DescribeTax(); t != "" {
		out = append(out, t)
	}
	for _, o := range f.Shipping {
		out = append(out, o.Describe(currency))
	}
	return out
}

// DecodeFees reads a fee schedule stored as JSON (as auctions and seller
// settings keep it): "" and text that does not decode, which only a hand
// edit could write, are no fees (nil).
func DecodeFees(s string) *Fees {
	if s == "" {
		return nil
	}
	var f Fees
	if json.Unmarshal([]byte(s), &f) != nil || f.IsZero() {
		return nil
	}
	return &f
}

// EncodeFees is the stored form DecodeFees reads: "" for no fees.
func EncodeFees(f *Fees) string {
	if f == nil || f.IsZero() {
		return ""
	}
	b, err := json.Marshal(f)
	if err != nil {
		return ""
	}
	return string(b)
}
