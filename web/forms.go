package web

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// bidFormData is the bid form as shown: the visitor's input, errors beside
// the fields, and the result line (#bid-result).
type bidFormData struct {
	Key        string // idempotency key of this rendering of the form
	Amount     string
	MaxAmount  string
	Errors     map[string]string
	Result     string
	ResultKind string // "ok" or "error"
}

// newFormKey returns a random idempotency key for one rendered form, so a
// double submit (or the browser re-sending the POST) places one bid.
func newFormKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails since Go 1.24
	return hex.EncodeToString(b[:])
}

// formKey returns a submitted idempotency key if it has the API's shape,
// else "" (the bid then simply has no key).
func formKey(c *fiber.Ctx) string {
	k := strings.TrimSpace(c.FormValue("idempotency_key"))
	if len(k) > maxIdempotencyKey {
		return ""
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return ""
		}
	}
	return k
}

// parseBidForm reads a bid form: amounts in major units of the auction's
// currency, or buy_now.
func parseBidForm(c *fiber.Ctx, currency string) (bidFormData, domain.BidInput) {
	in := domain.BidInput{IdempotencyKey: formKey(c)}
	form := bidFormData{Errors: map[string]string{}}
	if c.FormValue("buy_now") != "" {
		in.BuyNow = true
		return form, in
	}
	form.Amount = strings.TrimSpace(c.FormValue("amount"))
	form.MaxAmount = strings.TrimSpace(c.FormValue("max_amount"))
	v, err := domain.ParseAmount(form.Amount, currency)
	if err != nil {
		form.Errors["amount"] = domain.ErrorMessage(err)
	}
	in.Amount = v
	if form.MaxAmount != "" {
		m, err := domain.ParseAmount(form.MaxAmount, currency)
		if err != nil {
			form.Errors["max_amount"] = domain.ErrorMessage(err)
		}
		in.MaxAmount = m
	}
	return form, in
}

// mergeFields adds the messages of more to errs where errs has none.
func mergeFields(errs, more map[string]string) map[string]string {
	if errs == nil {
		errs = map[string]string{}
	}
	for k, v := range more {
		if _, ok := errs[k]; !ok {
			errs[k] = v
		}
	}
	return errs
}

// auctionField describes one input of the listing form, in form order.
type auctionField struct {
	Name     string
	Label    string
	Hint     string
	Money    bool
	Required bool
}

// auctionFields are the listing form's inputs; the names are the API's and
// domain.Error.Fields' keys, so the domain's messages land beside them.
var auctionFields = []auctionField{
	{Name: "title", Label: "Title", Required: true},
	{Name: "description", Label: "Description"},
	{Name: "category", Label: "Category"},
	{Name: "currency", Label: "Currency", Required: true},
	{Name: "start_price", Label: "Start price", Hint: "The first bid must be at least this.", Money: true, Required: true},
	{Name: "reserve_price", Label: "Reserve price (optional)", Hint: "A hidden minimum: below it the item does not sell.", Money: true},
	{Name: "buy_now_price", Label: "Buy-it-now price (optional)", Hint: "Anyone may buy at this price until the first bid.", Money: true},
	{Name: "increment", Label: "Fixed bid increment (optional)", Hint: "Leave empty for the standard steps, which grow with the price.", Money: true},
	{Name: "starts_at", Label: "Starts at"},
	{Name: "ends_at", Label: "Ends at", Required: true},
	{Name: "tz_offset", Label: "Time zone offset"},
	{Name: "soft_close_seconds", Label: "Soft close"},
}

// localTimeLayouts are the values a datetime-local input sends.
var localTimeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05"}

// offsetPattern matches "+02:00", "-0530", "+2" and the like.
var offsetPattern = regexp.MustCompile(`^([+-])(\d{1,2})(?::?(\d{2}))?$`)

// parseOffset reads the no-JavaScript time zone field: an offset from UTC.
// Empty, "Z" and "UTC" mean UTC.
func parseOffset(s string) (*time.Location, bool) {
	s = strings.TrimSpace(s)
	switch strings.ToUpper(s) {
	case "", "Z", "UTC", "GMT":
		return time.UTC, true
	}
	m := offsetPattern.FindStringSubmatch(s)
	if m == nil {
		return time.UTC, false
	}
	h, _ := strconv.Atoi(m[2])
	mins := 0
	if m[3] != "" {
		mins, _ = strconv.Atoi(m[3])
	}
	if h > 14 || mins > 59 {
		return time.UTC, false
	}
	secs := h*3600 + mins*60
	if m[1] == "-" {
		secs = -secs
	}
	return time.FixedZone(s, secs), true
}

// formTime reads one time of the listing form. The hidden <name>_utc field,
// which sell.js fills with the exact instant, wins; without JavaScript the
// visible datetime-local value is read in loc (the tz_offset field, else
// UTC). A nil time means the field was left empty.
func formTime(get func(string) string, name, local string, loc *time.Location) (*time.Time, string) {
	if utc := strings.TrimSpace(get(name + "_utc")); utc != "" {
		t, err := time.Parse(time.RFC3339Nano, utc)
		if err == nil {
			t = t.UTC()
			return &t, ""
		}
	}
	if local == "" {
		return nil, ""
	}
	for _, layout := range localTimeLayouts {
		if t, err := time.ParseInLocation(layout, local, loc); err == nil {
			t = t.UTC()
			return &t, ""
		}
	}
	return nil, "Enter a date and time, such as 2026-01-02T15:04."
}

// parseAuctionForm reads the listing form through get (c.FormValue, or a
// multipart form's fields). values is the input as typed (to re-render
// it), errs the problems found while parsing; the domain validates the
// values themselves.
func parseAuctionForm(get func(string) string) (values map[string]string, in domain.AuctionInput, errs map[string]string) {
	values, errs = map[string]string{}, map[string]string{}
	for _, f := range auctionFields {
		values[f.Name] = get(f.Name)
	}
	// Browsers send textarea line breaks as CRLF.
	values["description"] = strings.ReplaceAll(values["description"], "\r\n", "\n")
	values["title"] = strings.TrimSpace(values["title"])
	values["currency"] = strings.ToUpper(strings.TrimSpace(values["currency"]))
	for _, name := range []string{"start_price", "reserve_price", "buy_now_price", "increment", "starts_at", "ends_at", "tz_offset", "soft_close_seconds"} {
		values[name] = strings.TrimSpace(values[name])
	}

	in = domain.AuctionInput{Title: values["title"], Description: values["description"], Currency: values["currency"]}
	if _, ok := domain.LookupCurrency(in.Currency); !ok {
		errs["currency"] = "Choose a currency from the list."
	} else {
		targets := map[string]*int64{"start_price": &in.StartPrice, "reserve_price": &in.ReservePrice,
			"buy_now_price": &in.BuyNowPrice, "increment": &in.Increment}
		for _, f := range auctionFields {
			dst, ok := targets[f.Name]
			if !ok || (values[f.Name] == "" && !f.Required) {
				continue
			}
			v, err := domain.ParseAmount(values[f.Name], in.Currency)
			if err != nil {
				errs[f.Name] = domain.ErrorMessage(err)
				continue
			}
			*dst = v
		}
	}

	loc, ok := parseOffset(values["tz_offset"])
	if !ok {
		errs["tz_offset"] = "Enter an offset such as +02:00 or -05:00, or leave it empty for UTC."
	}
	starts, msg := formTime(get, "starts_at", values["starts_at"], loc)
	if msg != "" {
		errs["starts_at"] = msg
	}
	in.StartsAt = starts
	ends, msg := formTime(get, "ends_at", values["ends_at"], loc)
	switch {
	case msg != "":
		errs["ends_at"] = msg
	case ends != nil:
		in.EndsAt = *ends
	}

	if v := values["soft_close_seconds"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs["soft_close_seconds"] = "Enter a whole number of seconds, such as 120."
		} else {
			in.SoftCloseSeconds = &n
		}
	}
	return values, in, errs
}

// checkAuctionForm completes the parse errors with the domain's own checks
// of the values that did parse, so the seller sees every problem at once.
// Amounts are not checked when the currency is unknown: they were not read.
func checkAuctionForm(in domain.AuctionInput, errs map[string]string, now time.Time) map[string]string {
	err := domain.ValidateAuctionInput(in, now)
	var de *domain.Error
	if !errors.As(err, &de) {
		return errs
	}
	_, badCurrency := errs["currency"]
	for _, f := range auctionFields {
		msg, ok := de.Fields[f.Name]
		if !ok || (f.Money && badCurrency) {
			continue
		}
		if _, taken := errs[f.Name]; !taken {
			errs[f.Name] = msg
		}
	}
	return errs
}

// auctionFormValues fills the edit form from a listing; times go out in
// UTC and sell.js shows them in the viewer's zone.
func auctionFormValues(a domain.Auction) (values map[string]string, startsUTC, endsUTC string) {
	amount := func(v int64) string {
		if v == 0 {
			return ""
		}
		return domain.FormatAmount(v, a.Currency)
	}
	values = map[string]string{
		"title":              a.Title,
		"description":        a.Description,
		"currency":           a.Currency,
		"start_price":        domain.FormatAmount(a.StartPrice, a.Currency),
		"reserve_price":      amount(a.ReservePrice),
		"buy_now_price":      amount(a.BuyNowPrice),
		"increment":          amount(a.Increment),
		"ends_at":            a.EndsAt.UTC().Format(localTimeLayouts[0]),
		"tz_offset":          "+00:00",
		"soft_close_seconds": strconv.Itoa(a.SoftCloseSeconds),
	}
	if a.CategoryID != 0 {
		values["category"] = strconv.FormatInt(a.CategoryID, 10)
	}
	endsUTC = a.EndsAt.UTC().Format(time.RFC3339)
	// An open auction keeps its start; an empty field leaves it alone.
	if a.Status == domain.StatusScheduled {
		values["starts_at"] = a.StartsAt.UTC().Format(localTimeLayouts[0])
		startsUTC = a.StartsAt.UTC().Format(time.RFC3339)
	}
	return values, startsUTC, endsUTC
}
