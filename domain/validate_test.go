package domain_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

func TestValidateAuctionInput(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }
	secs := func(n int) *int { return &n }
	tests := []struct {
		name string
		mod  func(*domain.AuctionInput)
		want []string // the fields in error; nil: valid
	}{
		{name: "minimal", mod: func(*domain.AuctionInput) {}},
		{name: "every option", mod: func(in *domain.AuctionInput) {
			in.ReservePrice, in.BuyNowPrice, in.Increment = 5000, 10000, 100
			in.StartsAt, in.EndsAt, in.SoftCloseSeconds = at(time.Hour), t0.Add(2*time.Hour), secs(0)
		}},

		{name: "title empty", mod: func(in *domain.AuctionInput) { in.Title = "" }, want: []string{"title"}},
		{name: "title blank", mod: func(in *domain.AuctionInput) { in.Title = " \t\n" }, want: []string{"title"}},
		{name: "title 200 runes", mod: func(in *domain.AuctionInput) { in.Title = strings.Repeat("é", 200) }},
		{name: "title 201 runes", mod: func(in *domain.AuctionInput) { in.Title = strings.Repeat("é", 201) }, want: []string{"title"}},
		{name: "title 200 runes plus spaces", mod: func(in *domain.AuctionInput) { in.Title = "  " + strings.Repeat("a", 200) + "  " }},
		{name: "title invalid UTF-8", mod: func(in *domain.AuctionInput) { in.Title = "lamp \xff" }, want: []string{"title"}},
		{name: "title with a line break", mod: func(in *domain.AuctionInput) { in.Title = "Brass lamp\nwith shade" }, want: []string{"title"}},
		{name: "title with a carriage return", mod: func(in *domain.AuctionInput) { in.Title = "Brass lamp\r" + "x" }, want: []string{"title"}},
		{name: "title with a tab", mod: func(in *domain.AuctionInput) { in.Title = "Brass\tlamp" }, want: []string{"title"}},
		{name: "title with a trailing newline is trimmed", mod: func(in *domain.AuctionInput) { in.Title = "Brass lamp\n" }},
		{name: "title with accents and symbols", mod: func(in *domain.AuctionInput) { in.Title = "Émile's № 5 — 1930s" }},

		{name: "description empty", mod: func(in *domain.AuctionInput) { in.Description = "" }},
		{name: "description 10000 runes", mod: func(in *domain.AuctionInput) { in.Description = strings.Repeat("ü", 10_000) }},
		{name: "description 10001 runes", mod: func(in *domain.AuctionInput) { in.Description = strings.Repeat("ü", 10_001) }, want: []string{"description"}},
		{name: "description invalid UTF-8", mod: func(in *domain.AuctionInput) { in.Description = "ok \xc3\x28" }, want: []string{"description"}},

		{name: "currency empty", mod: func(in *domain.AuctionInput) { in.Currency = "" }, want: []string{"currency"}},
		{name: "currency lower case", mod: func(in *domain.AuctionInput) { in.Currency = "eur" }, want: []string{"currency"}},
		{name: "currency unknown", mod: func(in *domain.AuctionInput) { in.Currency = "XTS" }, want: []string{"currency"}},
		{name: "currency with three decimals", mod: func(in *domain.AuctionInput) { in.Currency = "BHD" }},

		{name: "start price zero", mod: func(in *domain.AuctionInput) { in.StartPrice = 0 }, want: []string{"start_price"}},
		{name: "start price negative", mod: func(in *domain.AuctionInput) { in.StartPrice = -1 }, want: []string{"start_price"}},
		{name: "start price MaxMoney", mod: func(in *domain.AuctionInput) { in.StartPrice = domain.MaxMoney }},
		{name: "start price over MaxMoney", mod: func(in *domain.AuctionInput) { in.StartPrice = domain.MaxMoney + 1 }, want: []string{"start_price"}},

		{name: "reserve negative", mod: func(in *domain.AuctionInput) { in.ReservePrice = -1 }, want: []string{"reserve_price"}},
		{name: "reserve over MaxMoney", mod: func(in *domain.AuctionInput) { in.ReservePrice = domain.MaxMoney + 1 }, want: []string{"reserve_price"}},
		{name: "reserve below start", mod: func(in *domain.AuctionInput) { in.ReservePrice = 999 }, want: []string{"reserve_price"}},
		{name: "reserve equal to start", mod: func(in *domain.AuctionInput) { in.ReservePrice = 1000 }},

		{name: "buy now negative", mod: func(in *domain.AuctionInput) { in.BuyNowPrice = -1 }, want: []string{"buy_now_price"}},
		{name: "buy now over MaxMoney", mod: func(in *domain.AuctionInput) { in.BuyNowPrice = domain.MaxMoney + 1 }, want: []string{"buy_now_price"}},
		{name: "buy now below start", mod: func(in *domain.AuctionInput) { in.BuyNowPrice = 999 }, want: []string{"buy_now_price"}},
		{name: "buy now below reserve", mod: func(in *domain.AuctionInput) { in.ReservePrice, in.BuyNowPrice = 5000, 4999 }, want: []string{"buy_now_price"}},
		{name: "buy now equal to reserve", mod: func(in *domain.AuctionInput) { in.ReservePrice, in.BuyNowPrice = 5000, 5000 }},
		{name: "buy now equal to start", mod: func(in *domain.AuctionInput) { in.BuyNowPrice = 1000 }},

		{name: "increment negative", mod: func(in *domain.AuctionInput) { in.Increment = -1 }, want: []string{"increment"}},
		{name: "increment over MaxMoney", mod: func(in *domain.AuctionInput) { in.Increment = domain.MaxMoney + 1 }, want: []string{"increment"}},
		{name: "increment one minor unit", mod: func(in *domain.AuctionInput) { in.Increment = 1 }},

		{name: "start in the past means now", mod: func(in *domain.AuctionInput) { in.StartsAt = at(-day) }},
		{name: "start in the past, end 5s from now", mod: func(in *domain.AuctionInput) { in.StartsAt, in.EndsAt = at(-day), t0.Add(5*time.Second) }, want: []string{"ends_at"}},
		{name: "start in 30 days", mod: func(in *domain.AuctionInput) { in.StartsAt, in.EndsAt = at(30*day), t0.Add(31*day) }},
		{name: "start after 30 days", mod: func(in *domain.AuctionInput) { in.StartsAt, in.EndsAt = at(30*day+time.Second), t0.Add(31*day) }, want: []string{"starts_at"}},

		{name: "end missing", mod: func(in *domain.AuctionInput) { in.EndsAt = time.Time{} }, want: []string{"ends_at"}},
		{name: "end in the past", mod: func(in *domain.AuctionInput) { in.EndsAt = t0.Add(-time.Second) }, want: []string{"ends_at"}},
		{name: "end 9s after start", mod: func(in *domain.AuctionInput) { in.EndsAt = t0.Add(9 * time.Second) }, want: []string{"ends_at"}},
		{name: "end 10s after start", mod: func(in *domain.AuctionInput) { in.EndsAt = t0.Add(10 * time.Second) }},
		{name: "end before a future start", mod: func(in *domain.AuctionInput) { in.StartsAt, in.EndsAt = at(time.Hour), t0.Add(time.Hour+5*time.Second) }, want: []string{"ends_at"}},
		{name: "30 days long", mod: func(in *domain.AuctionInput) { in.EndsAt = t0.Add(30 * day) }},
		{name: "over 30 days long", mod: func(in *domain.AuctionInput) { in.EndsAt = t0.Add(30*day + time.Second) }, want: []string{"ends_at"}},

		{name: "soft close negative", mod: func(in *domain.AuctionInput) { in.SoftCloseSeconds = secs(-1) }, want: []string{"soft_close_seconds"}},
		{name: "soft close hard", mod: func(in *domain.AuctionInput) { in.SoftCloseSeconds = secs(0) }},
		{name: "soft close 3600", mod: func(in *domain.AuctionInput) { in.SoftCloseSeconds = secs(3600) }},
		{name: "soft close 3601", mod: func(in *domain.AuctionInput) { in.SoftCloseSeconds = secs(3601) }, want: []string{"soft_close_seconds"}},

		{name: "every field at once", mod: func(in *domain.AuctionInput) {
			*in = domain.AuctionInput{Title: "", Description: "\xff", Currency: "ZZZ", StartPrice: 0, ReservePrice: -1, BuyNowPrice: -1,
				Increment: -1, StartsAt: at(40 * day), SoftCloseSeconds: secs(7200)}
		}, want: []string{"buy_now_price", "currency", "description", "ends_at", "increment", "reserve_price", "soft_close_seconds", "start_price", "starts_at", "title"}},
		{name: "two fields", mod: func(in *domain.AuctionInput) { in.Title, in.StartPrice = "", 0 }, want: []string{"start_price", "title"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := validInput()
			tt.mod(&in)
			err := domain.ValidateAuctionInput(in, t0)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v (%v)", err, fieldsOf(err))
				}
				return
			}
			de := mustDomainError(t, err, domain.CodeInvalid)
			if got := slices.Sorted(maps.Keys(de.Fields)); !slices.Equal(got, tt.want) {
				t.Fatalf("fields %v, want %v", got, tt.want)
			}
			for f, msg := range de.Fields {
				if msg == "" {
					t.Errorf("field %s has no message", f)
				}
			}
			wantMsg := "Please correct the highlighted fields."
			if len(tt.want) == 1 {
				wantMsg = de.Fields[tt.want[0]]
			}
			if de.Message != wantMsg {
				t.Errorf("message %q, want %q", de.Message, wantMsg)
			}
		})
	}
}

func fieldsOf(err error) map[string]string {
	if de, ok := err.(*domain.Error); ok {
		return de.Fields
	}
	return nil
}

func TestValidateAuctionInputUsesUTC(t *testing.T) {
	t.Parallel()
	in := validInput()
	tokyo := time.FixedZone("JST", 9*3600)
	in.EndsAt = t0.Add(10 * time.Second).In(tokyo)
	if err := domain.ValidateAuctionInput(in, t0.In(tokyo)); err != nil {
		t.Errorf("same instants in another zone: %v", err)
	}
}
