package web

import (
	"strconv"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// Rows of the fee fields (the "fee-fields" template), on the seller
// settings form and the sale form.
const (
	formTiers      = 3
	formDeliveries = 3
)

func rows(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// feeValues puts a fee schedule into form values, amounts in cur.
func feeValues(v map[string]string, f domain.Fees, cur string) {
	for i, t := range f.BuyersPremium {
		k := "tier" + strconv.Itoa(i)
		v[k+"_rate"] = strings.TrimSuffix(domain.FormatRate(t.RateBPS), "%")
		if t.UpTo > 0 {
			v[k+"_up_to"] = domain.FormatAmount(t.UpTo, cur)
		}
	}
	if t := f.Tax; t != nil {
		v["tax_label"], v["tax_rate"], v["tax_on"] = t.Label, strings.TrimSuffix(domain.FormatRate(t.RateBPS), "%"), string(t.On)
	}
	d := 0
	for _, o := range f.Shipping {
		switch {
		case o.Kind == domain.ShippingPickup && v["pickup_where"] == "":
			v["pickup_where"], v["pickup_when"] = o.Where, o.When
		case o.Kind == domain.ShippingDelivery && d < formDeliveries:
			k := "delivery" + strconv.Itoa(d)
			v[k+"_region"], v[k+"_amount"] = o.Region, domain.FormatAmount(o.Amount, cur)
			d++
		}
	}
}

// parseFeeFields reads the fee fields of a form: get reads (and records in
// v) one trimmed value. Amounts are in currency; problems go into errs by
// field; the domain validates the schedule.
func parseFeeFields(get func(string) string, v map[string]string, currency string, errs map[string]string) domain.Fees {
	var fees domain.Fees
	rate := func(k string) (int64, bool) {
		bps, err := domain.ParseAmount(v[k], "EUR") // hundredths of a percent are basis points
		if err != nil {
			errs[k] = "Enter a percentage such as 25 or 20.5."
			return 0, false
		}
		return bps, true
	}
	for i := range formTiers {
		k := "tier" + strconv.Itoa(i)
		r, up := get(k+"_rate"), get(k+"_up_to")
		if r == "" && up == "" {
			continue
		}
		t := domain.PremiumTier{}
		if bps, ok := rate(k + "_rate"); ok {
			t.RateBPS = bps
		}
		if up != "" {
			amt, err := domain.ParseAmount(up, currency)
			if err != nil {
				errs[k+"_up_to"] = domain.ErrorMessage(err)
			}
			t.UpTo = amt
		}
		fees.BuyersPremium = append(fees.BuyersPremium, t)
	}
	if label, r := get("tax_label"), get("tax_rate"); label != "" || r != "" {
		t := &domain.Tax{Label: label, On: domain.TaxBase(get("tax_on"))}
		if bps, ok := rate("tax_rate"); ok {
			t.RateBPS = bps
		}
		fees.Tax = t
	}
	if where, when := get("pickup_where"), get("pickup_when"); where != "" || when != "" {
		fees.Shipping = append(fees.Shipping, domain.ShippingOption{Kind: domain.ShippingPickup, Where: where, When: when})
	}
	for i := range formDeliveries {
		k := "delivery" + strconv.Itoa(i)
		region, amount := get(k+"_region"), get(k+"_amount")
		if region == "" && amount == "" {
			continue
		}
		o := domain.ShippingOption{Kind: domain.ShippingDelivery, Region: region}
		if amount != "" {
			amt, err := domain.ParseAmount(amount, currency)
			if err != nil {
				errs[k+"_amount"] = domain.ErrorMessage(err)
			}
			o.Amount = amt
		}
		fees.Shipping = append(fees.Shipping, o)
	}
	return fees
}

// parseFeeForm reads a form's fee fields in currency (the default one
// when it is not valid): nil when they are all empty.
func parseFeeForm(c *fiber.Ctx, values map[string]string, currency string, errs map[string]string) *domain.Fees {
	if _, ok := domain.LookupCurrency(currency); !ok {
		currency = defaultCurrency
	}
	get := func(k string) string {
		v := strings.TrimSpace(c.FormValue(k))
		values[k] = v
		return v
	}
	fees := parseFeeFields(get, values, currency, errs)
	if fees.IsZero() {
		return nil
	}
	return &fees
}

// feeProblems are the fee fields' errors, for a form's error summary.
func feeProblems(errs map[string]string) []fieldProblem {
	var out []fieldProblem
	for _, fld := range feeFieldLabels() {
		if msg, ok := errs[fld.Name]; ok {
			out = append(out, fieldProblem{ID: fld.Name, Label: fld.Label, Message: msg})
		}
	}
	return out
}

// feeFieldErrors maps the service's whole-schedule fields onto the form's
// first input of each part.
func feeFieldErrors(errs map[string]string) map[string]string {
	for from, to := range map[string]string{"buyers_premium": "tier0_rate", "tax": "tax_label", "shipping": "pickup_where"} {
		if m, ok := errs[from]; ok && errs[to] == "" {
			errs[to] = m
		}
	}
	return errs
}

// feeFieldLabels label the fee fields, for a form's error summary.
func feeFieldLabels() []struct{ Name, Label string } {
	var out []struct{ Name, Label string }
	add := func(name, label string) { out = append(out, struct{ Name, Label string }{name, label}) }
	for i := range formTiers {
		n := strconv.Itoa(i + 1)
		add("tier"+strconv.Itoa(i)+"_rate", "Premium tier "+n+" rate")
		add("tier"+strconv.Itoa(i)+"_up_to", "Premium tier "+n+" up to")
	}
	add("tax_label", "Tax label")
	add("tax_rate", "Tax rate")
	add("pickup_where", "Collection address")
	for i := range formDeliveries {
		add("delivery"+strconv.Itoa(i)+"_amount", "Delivery rate "+strconv.Itoa(i+1))
	}
	return out
}

// defaultTerms are the terms of u's default fees, which a new sale sent
// without fees takes; nil without invoicing or defaults.
func (p *pages) defaultTerms(c *fiber.Ctx, u domain.User) ([]string, error) {
	if p.s.deps.Invoicing == nil {
		return nil, nil
	}
	set, err := p.s.deps.Invoicing.SellerSettings(c.UserContext(), u.ID)
	if err != nil || set.Fees.IsZero() {
		return nil, err
	}
	cur := set.Currency
	if cur == "" {
		cur = defaultCurrency
	}
	return set.Fees.Terms(cur), nil
}
