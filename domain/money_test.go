package domain_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
)

func TestParseAmount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, cur string
		want    int64
		ok      bool
	}{
		{"12.50", "EUR", 1250, true},
		{"12.5", "EUR", 1250, true},
		{"12", "EUR", 1200, true},
		{"0.01", "EUR", 1, true},
		{".5", "EUR", 50, true},
		{"0", "EUR", 0, true},
		{"007.10", "EUR", 710, true},
		{" 12.50 ", "EUR", 1250, true},
		{"\t3\n", "EUR", 300, true},
		{"10000000000000", "EUR", domain.MaxMoney, true},
		{"9999999999999.99", "EUR", domain.MaxMoney - 1, true},
		{"1250", "JPY", 1250, true},
		{"1000000000000000", "JPY", domain.MaxMoney, true},
		{"1.234", "BHD", 1234, true},
		{"1.2", "BHD", 1200, true},
		{"0.001", "BHD", 1, true},
		{"1000000000000", "BHD", domain.MaxMoney, true},

		{"-1", "EUR", 0, false},
		{"-0.01", "EUR", 0, false},
		{"+1", "EUR", 0, false},
		{"1e3", "EUR", 0, false},
		{"1E3", "JPY", 0, false},
		{"1,000", "EUR", 0, false},
		{"1,50", "EUR", 0, false},
		{"1 000", "EUR", 0, false},
		{"1_000", "EUR", 0, false},
		{"12.345", "EUR", 0, false},
		{"12.500", "EUR", 0, false},
		{"12.5", "JPY", 0, false},
		{"12.0", "JPY", 0, false},
		{"12.3456", "BHD", 0, false},
		{"12.", "EUR", 0, false},
		{".", "EUR", 0, false},
		{"1.2.3", "EUR", 0, false},
		{"", "EUR", 0, false},
		{"   ", "EUR", 0, false},
		{"0x10", "EUR", 0, false},
		{"١٢", "EUR", 0, false},
		{"１２", "JPY", 0, false},
		{"12.50EUR", "EUR", 0, false},
		{"€12", "EUR", 0, false},
		{"NaN", "EUR", 0, false},
		{"Inf", "EUR", 0, false},
		{"10000000000000.01", "EUR", 0, false},
		{"10000000000001", "EUR", 0, false},
		{"1000000000000001", "JPY", 0, false},
		{"1000000000000.001", "BHD", 0, false},
		{"9223372036854775807", "JPY", 0, false},
		{"9223372036854775808", "JPY", 0, false},
		{"99999999999999999999999999", "EUR", 0, false},
		{"12", "XXX", 0, false},
		{"12", "eur", 0, false},
		{"12", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.cur+" "+tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := domain.ParseAmount(tt.in, tt.cur)
			if !tt.ok {
				mustDomainError(t, err, domain.CodeInvalid)
				if got != 0 {
					t.Errorf("refused input returned %d", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseAmount(%q, %s) = %d, %v; want %d", tt.in, tt.cur, got, err, tt.want)
			}
		})
	}
}

func TestFormatAmount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		amount int64
		cur    string
		want   string
	}{
		{0, "EUR", "0.00"},
		{1, "EUR", "0.01"},
		{10, "EUR", "0.10"},
		{100, "EUR", "1.00"},
		{1250, "EUR", "12.50"},
		{123456789, "EUR", "1234567.89"},
		{-1250, "EUR", "-12.50"},
		{-5, "EUR", "-0.05"},
		{domain.MaxMoney, "EUR", "10000000000000.00"},
		{0, "JPY", "0"},
		{1250, "JPY", "1250"},
		{-7, "JPY", "-7"},
		{5, "BHD", "0.005"},
		{1000, "BHD", "1.000"},
		{1234, "BHD", "1.234"},
		{1250, "XXX", "1250"},
		{math.MaxInt64, "EUR", "92233720368547758.07"},
		{math.MinInt64, "EUR", "-92233720368547758.08"},
		{math.MinInt64, "BHD", "-9223372036854775.808"},
	}
	for _, tt := range tests {
		if got := domain.FormatAmount(tt.amount, tt.cur); got != tt.want {
			t.Errorf("FormatAmount(%d, %s) = %q, want %q", tt.amount, tt.cur, got, tt.want)
		}
	}
	if got := domain.FormatMoney(1250, "EUR"); got != "12.50 EUR" {
		t.Errorf("FormatMoney = %q", got)
	}
}

func TestAmountRoundTrip(t *testing.T) {
	t.Parallel()
	for _, cur := range []string{"EUR", "JPY", "BHD", "CLP", "KWD", "USD"} {
		for _, v := range []int64{0, 1, 9, 10, 99, 100, 101, 999, 1000, 1001, 123456, 1 << 40, domain.MaxMoney - 1, domain.MaxMoney} {
			s := domain.FormatAmount(v, cur)
			got, err := domain.ParseAmount(s, cur)
			if err != nil || got != v {
				t.Errorf("%s %d -> %q -> %d, %v", cur, v, s, got, err)
			}
			if again := domain.FormatAmount(got, cur); again != s {
				t.Errorf("%s %q formats back as %q", cur, s, again)
			}
		}
	}
}

func TestCheckAmount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v        int64
		required bool
		ok       bool
	}{
		{math.MinInt64, false, false},
		{-1, false, false},
		{0, true, false},
		{0, false, true},
		{1, true, true},
		{domain.MaxMoney, true, true},
		{domain.MaxMoney + 1, false, false},
		{math.MaxInt64, true, false},
	}
	for _, tt := range tests {
		err := domain.CheckAmount("price", tt.v, tt.required)
		if tt.ok {
			if err != nil {
				t.Errorf("CheckAmount(%d, %v) = %v", tt.v, tt.required, err)
			}
			continue
		}
		if de := mustDomainError(t, err, domain.CodeInvalid); de.Fields["price"] != de.Message || de.Message == "" {
			t.Errorf("CheckAmount(%d, %v): fields %v", tt.v, tt.required, de.Fields)
		}
	}
}

func TestDefaultIncrement(t *testing.T) {
	t.Parallel()
	// Each band's last price and the next band's first, per currency.
	tests := []struct {
		cur   string
		price int64
		want  int64
	}{
		{"EUR", 0, 5}, {"EUR", 99, 5}, {"EUR", 100, 25}, {"EUR", 499, 25}, {"EUR", 500, 50},
		{"EUR", 2499, 50}, {"EUR", 2500, 100}, {"EUR", 9999, 100}, {"EUR", 10000, 250},
		{"EUR", 24999, 250}, {"EUR", 25000, 500}, {"EUR", 49999, 500}, {"EUR", 50000, 1000},
		{"EUR", 99999, 1000}, {"EUR", 100000, 2500}, {"EUR", 249999, 2500}, {"EUR", 250000, 5000},
		{"EUR", 499999, 5000}, {"EUR", 500000, 10000}, {"EUR", domain.MaxMoney, 10000},

		// JPY has no minor units: steps below one yen become one yen, and
		// 2.50 becomes 2 (truncated).
		{"JPY", 0, 1}, {"JPY", 1, 1}, {"JPY", 4, 1}, {"JPY", 5, 1}, {"JPY", 24, 1}, {"JPY", 25, 1},
		{"JPY", 99, 1}, {"JPY", 100, 2}, {"JPY", 249, 2}, {"JPY", 250, 5}, {"JPY", 499, 5},
		{"JPY", 500, 10}, {"JPY", 999, 10}, {"JPY", 1000, 25}, {"JPY", 2499, 25}, {"JPY", 2500, 50},
		{"JPY", 4999, 50}, {"JPY", 5000, 100}, {"JPY", domain.MaxMoney, 100},

		{"BHD", 0, 50}, {"BHD", 999, 50}, {"BHD", 1000, 250}, {"BHD", 4999, 250}, {"BHD", 5000, 500},
		{"BHD", 24999, 500}, {"BHD", 25000, 1000}, {"BHD", 99999, 1000}, {"BHD", 100000, 2500},
		{"BHD", 249999, 2500}, {"BHD", 250000, 5000}, {"BHD", 499999, 5000}, {"BHD", 500000, 10000},
		{"BHD", 999999, 10000}, {"BHD", 1000000, 25000}, {"BHD", 2499999, 25000}, {"BHD", 2500000, 50000},
		{"BHD", 4999999, 50000}, {"BHD", 5000000, 100000}, {"BHD", domain.MaxMoney, 100000},

		{"XXX", 100, 2},
	}
	for _, tt := range tests {
		if got := domain.DefaultIncrement(tt.price, tt.cur); got != tt.want {
			t.Errorf("DefaultIncrement(%d %s) = %d, want %d", tt.price, tt.cur, got, tt.want)
		}
	}
}

func TestCurrencies(t *testing.T) {
	t.Parallel()
	for code, exp := range map[string]int{"EUR": 2, "JPY": 0, "BHD": 3, "USD": 2, "KWD": 3, "CLP": 0} {
		if c, ok := domain.LookupCurrency(code); !ok || c.Exponent != exp || c.Code != code {
			t.Errorf("LookupCurrency(%s) = %+v, %v", code, c, ok)
		}
	}
	for _, code := range []string{"", "eur", "XXX", "EURO"} {
		if _, ok := domain.LookupCurrency(code); ok {
			t.Errorf("LookupCurrency(%q) accepted", code)
		}
	}
	codes := domain.CurrencyCodes()
	if !slices.IsSorted(codes) || slices.Compact(slices.Clone(codes)) == nil || !slices.Contains(codes, "EUR") {
		t.Errorf("CurrencyCodes = %v", codes)
	}
	for _, c := range codes {
		if _, ok := domain.LookupCurrency(c); !ok || len(c) != 3 || strings.ToUpper(c) != c {
			t.Errorf("listed code %q", c)
		}
	}
}

// fuzzCurrencies are the currencies the fuzz targets pick from by index.
var fuzzCurrencies = []string{"EUR", "JPY", "BHD", "USD", "CLP", "KWD", "XXX"}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"12.50", "12.5", ".5", "0", "-1", "1e3", "1,000", "12.345", " 7 ", "10000000000000",
		"10000000000000.01", "9223372036854775808", "00000000000000000001", "1.", "٣", "\x00"} {
		for i := range fuzzCurrencies {
			f.Add(s, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, s string, ci uint8) {
		cur := fuzzCurrencies[int(ci)%len(fuzzCurrencies)]
		v, err := domain.ParseAmount(s, cur)
		if err != nil {
			if domain.ErrorCode(err) != domain.CodeInvalid || domain.ErrorMessage(err) == "" {
				t.Fatalf("ParseAmount(%q, %s): %v", s, cur, err)
			}
			return
		}
		if v < 0 || v > domain.MaxMoney {
			t.Fatalf("ParseAmount(%q, %s) = %d, outside [0, MaxMoney]", s, cur, v)
		}
		trimmed := strings.TrimSpace(s)
		if strings.Trim(trimmed, "0123456789.") != "" || strings.Count(trimmed, ".") > 1 {
			t.Fatalf("ParseAmount accepted %q", s)
		}
		back, err := domain.ParseAmount(domain.FormatAmount(v, cur), cur)
		if err != nil || back != v {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, v, domain.FormatAmount(v, cur), back, err)
		}
	})
}

func FuzzFormatAmount(f *testing.F) {
	for _, v := range []int64{0, 1, -1, 1250, domain.MaxMoney, math.MaxInt64, math.MinInt64} {
		f.Add(v, uint8(2))
	}
	f.Fuzz(func(t *testing.T, v int64, ci uint8) {
		cur := fuzzCurrencies[int(ci)%len(fuzzCurrencies)]
		s := domain.FormatAmount(v, cur)
		if _, known := domain.LookupCurrency(cur); !known || v < 0 || v > domain.MaxMoney {
			return
		}
		if got, err := domain.ParseAmount(s, cur); err != nil || got != v {
			t.Fatalf("%d %s -> %q -> %d, %v", v, cur, s, got, err)
		}
	})
}
