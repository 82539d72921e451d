package domain

import (
	"strconv"
	"strings"
)

// MaxMoney bounds every amount in minor units. It leaves room to add an
// increment and to scale by 100 without overflowing int64.
const MaxMoney int64 = 1_000_000_000_000_000 // 10^15 minor units

// Currency is an ISO 4217 currency and its minor-unit exponent.
type Currency struct {
	Code     string
	Exponent int
}

// currencies lists the ISO 4217 currencies Gavel accepts.
var currencies = map[string]int{
	"AUD": 2, "BGN": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0,
	"CNY": 2, "CZK": 2, "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2,
	"IDR": 2, "ILS": 2, "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0,
	"KWD": 3, "MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PHP": 2,
	"PLN": 2, "RON": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2,
	"TWD": 2, "UAH": 2, "USD": 2, "VND": 0, "ZAR": 2,
}

// LookupCurrency returns the currency with the given ISO 4217 code.
func LookupCurrency(code string) (Currency, bool) {
	exp, ok := currencies[code]
	return Currency{Code: code, Exponent: exp}, ok
}

// CurrencyCodes returns the accepted currency codes, sorted.
func CurrencyCodes() []string {
	out := make([]string, 0, len(currencies))
	for c := range currencies {
		out = append(out, c)
	}
	sortStrings(out)
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// FormatAmount renders minor units as a decimal in major units, e.g. 1250 EUR
// as "12.50" and 1250 JPY as "1250". Thousands are not grouped.
func FormatAmount(amount int64, currency string) string {
	c, ok := LookupCurrency(currency)
	if !ok || c.Exponent == 0 {
		return strconv.FormatInt(amount, 10)
	}
	neg := amount < 0
	// The magnitude is unsigned so that math.MinInt64 has one too.
	mag := uint64(amount)
	if neg {
		mag = -mag
	}
	p := uint64(pow10(c.Exponent))
	frac := strconv.FormatUint(mag%p, 10)
	frac = strings.Repeat("0", c.Exponent-len(frac)) + frac
	s := strconv.FormatUint(mag/p, 10) + "." + frac
	if neg {
		s = "-" + s
	}
	return s
}

// FormatMoney renders an amount with its currency code, e.g. "12.50 EUR".
func FormatMoney(amount int64, currency string) string {
	return FormatAmount(amount, currency) + " " + currency
}

// ParseAmount parses a decimal in major units ("12.5", "12.50", "1250") into
// minor units of currency. It rejects signs, exponents, thousands separators,
// more decimals than the currency has, and amounts above MaxMoney.
func ParseAmount(s, currency string) (int64, error) {
	c, ok := LookupCurrency(currency)
	if !ok {
		return 0, Errorf(CodeInvalid, "Unknown currency %q.", currency)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, Errorf(CodeInvalid, "Enter an amount.")
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && hasDot {
		whole = "0"
	}
	if !allDigits(whole) || (hasDot && !allDigits(frac)) || (hasDot && frac == "") {
		return 0, Errorf(CodeInvalid, "Enter the amount as a plain number such as 12.50.")
	}
	if len(frac) > c.Exponent {
		if c.Exponent == 0 {
			return 0, Errorf(CodeInvalid, "%s has no minor units: enter a whole number.", currency)
		}
		return 0, Errorf(CodeInvalid, "%s allows at most %d decimals.", currency, c.Exponent)
	}
	if len(whole) > 18 {
		return 0, Errorf(CodeInvalid, "That amount is too large.")
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, Errorf(CodeInvalid, "That amount is too large.")
	}
	var f int64
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", c.Exponent-len(frac)), 10, 64)
	}
	p := pow10(c.Exponent)
	if w > MaxMoney/p {
		return 0, Errorf(CodeInvalid, "That amount is too large.")
	}
	v := w*p + f
	if v > MaxMoney {
		return 0, Errorf(CodeInvalid, "That amount is too large.")
	}
	return v, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// CheckAmount validates an amount in minor units supplied by a client.
func CheckAmount(field string, v int64, required bool) error {
	switch {
	case v < 0:
		return Invalid(field, "Must not be negative.")
	case v == 0 && required:
		return Invalid(field, "Must be greater than zero.")
	case v > MaxMoney:
		return Invalid(field, "Is too large.")
	}
	return nil
}

// incrementBands is the default eBay-like table, in hundredths of a major
// unit: below Below, the increment is Step.
var incrementBands = []struct{ Below, Step int64 }{
	{100, 5}, {500, 25}, {2500, 50}, {10000, 100}, {25000, 250},
	{50000, 500}, {100000, 1000}, {250000, 2500}, {500000, 5000},
}

// DefaultIncrement returns the table increment at price (minor units).
func DefaultIncrement(price int64, currency string) int64 {
	c, _ := LookupCurrency(currency)
	scale := pow10(c.Exponent)
	// Convert to hundredths of a major unit; MaxMoney keeps price*100 in range.
	hundredths := price * 100 / scale
	step := int64(10000)
	for _, b := range incrementBands {
		if hundredths < b.Below {
			step = b.Step
			break
		}
	}
	inc := step * scale / 100
	if inc < 1 {
		inc = 1
	}
	return inc
}
