package domain

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// LotInput is one lot as a seller supplies it (JSON or a CSV row). Field
// names in errors are the API's and the CSV's column names.
type LotInput struct {
	LotNumber    int
	Title        string
	Description  string
	StartPrice   int64
	Reserve      int64 // 0: none
	LowEstimate  int64 // 0: none
	HighEstimate int64 // 0: none
	BuyNow       int64 // 0: none
	Increment    int64 // 0: the sale's
}

// LotFields are the names of a lot's fields, in the order of the API's
// JSON and the CSV columns.
var LotFields = []string{"lot_number", "title", "description", "start_price", "reserve", "low_estimate", "high_estimate", "buy_now"}

// ValidateLotInput checks one lot on its own and returns a message per
// field at fault (nil when it is valid). Uniqueness of lot numbers is the
// caller's to check, against the sale and the rest of a file.
func ValidateLotInput(in LotInput) map[string]string {
	var fields map[string]string
	bad := func(f, msg string) {
		if fields == nil {
			fields = map[string]string{}
		}
		if _, ok := fields[f]; !ok {
			fields[f] = msg
		}
	}
	if in.LotNumber < 1 || in.LotNumber > MaxLotNumber {
		bad("lot_number", "The lot number must be a whole number from 1 to 1000000.")
	}
	title := strings.TrimSpace(in.Title)
	switch {
	case title == "":
		bad("title", "Enter a title.")
	case !utf8.ValidString(in.Title) || hasNUL(in.Title):
		bad("title", "The title is not valid text.")
	case utf8.RuneCountInString(title) > MaxTitleLen:
		bad("title", "Keep the title under 200 characters.")
	}
	if utf8.RuneCountInString(in.Description) > MaxDescriptionLen || !utf8.ValidString(in.Description) || hasNUL(in.Description) {
		bad("description", "Keep the description under 10,000 characters of valid text.")
	}
	for _, f := range []struct {
		name     string
		v        int64
		required bool
	}{{"start_price", in.StartPrice, true}, {"reserve", in.Reserve, false}, {"low_estimate", in.LowEstimate, false},
		{"high_estimate", in.HighEstimate, false}, {"buy_now", in.BuyNow, false}, {"increment", in.Increment, false}} {
		if err := CheckAmount(f.name, f.v, f.required); err != nil {
			bad(f.name, err.(*Error).Message)
		}
	}
	if fields["reserve"] == "" && in.Reserve != 0 && in.Reserve < in.StartPrice {
		bad("reserve", "The reserve must be at least the start price.")
	}
	if fields["buy_now"] == "" && in.BuyNow != 0 && in.BuyNow < max(in.StartPrice, in.Reserve) {
		bad("buy_now", "The buy-it-now price must be at least the start price and the reserve.")
	}
	if fields["high_estimate"] == "" && in.HighEstimate != 0 && in.HighEstimate < in.LowEstimate {
		bad("high_estimate", "The high estimate must be at least the low estimate.")
	}
	return fields
}

// checkLot validates in as one lot of a request (not a file).
func checkLot(in LotInput) error {
	return FieldErrors(ValidateLotInput(in))
}

// ErrDuplicateLot refuses a lot number already taken in the sale.
func ErrDuplicateLot(n int) *Error {
	msg := "Lot " + strconv.Itoa(n) + " already exists in this sale: choose another lot number."
	return &Error{Code: CodeConflict, Message: msg, Fields: map[string]string{"lot_number": msg}}
}

// NewLot validates in and returns the lot as a draft auction of sale s. Its
// times are set by Schedule once its place in the sale is known.
func NewLot(s Sale, in LotInput, now time.Time) (Auction, error) {
	now = now.UTC()
	if !CanEditSale(s, now) {
		return Auction{}, saleEditError(s)
	}
	if err := checkLot(in); err != nil {
		return Auction{}, err
	}
	a := Auction{
		SellerID: s.SellerID, SaleID: s.ID, Currency: s.Currency,
		Status: StatusDraft, MaxExtension: DefaultMaxExtension,
		CreatedAt: now, UpdatedAt: now,
	}
	if s.Status == SaleScheduled {
		a.Status = StatusScheduled
	}
	applyLotInput(&a, s, in)
	return a, nil
}

func applyLotInput(a *Auction, s Sale, in LotInput) {
	a.LotNumber = in.LotNumber
	a.Title = strings.TrimSpace(in.Title)
	a.Description = strings.TrimSpace(in.Description)
	a.StartPrice, a.ReservePrice, a.BuyNowPrice = in.StartPrice, in.Reserve, in.BuyNow
	a.LowEstimate, a.HighEstimate = in.LowEstimate, in.HighEstimate
	a.Increment = in.Increment
	if a.Increment == 0 {
		a.Increment = s.Increment
	}
	a.SoftCloseSeconds = s.SoftCloseSeconds
	a.Fees = s.lotFees()
}

// lotFees is the copy of the sale's fees a lot carries.
func (s Sale) lotFees() *Fees {
	if s.Fees == nil || s.Fees.IsZero() {
		return nil
	}
	f := *s.Fees
	return &f
}

// SameFees reports whether two schedules charge and offer the same; nil
// and a zero schedule are the same.
func SameFees(a, b *Fees) bool {
	var x, y Fees
	if a != nil {
		x = *a
	}
	if b != nil {
		y = *b
	}
	switch {
	case !slices.Equal(x.BuyersPremium, y.BuyersPremium) || !slices.Equal(x.Shipping, y.Shipping):
		return false
	case x.Tax == nil || y.Tax == nil:
		return x.Tax == y.Tax
	}
	return *x.Tax == *y.Tax
}

// EditLot applies a seller's changes to a lot until its first bid, as for
// any auction. Before the sale opens its number may change too (the caller
// reschedules the sale); after, the number is its place and stays.
func EditLot(s Sale, a Auction, in LotInput, now time.Time) (Auction, error) {
	now = now.UTC()
	if a.Status == StatusCancelled {
		return a, &Error{Code: CodeGone, Message: "This lot was withdrawn and can no longer be changed."}
	}
	if !CanEditSale(s, now) {
		switch {
		case s.Status == SaleClosed || s.Status == SaleCancelled || a.Status == StatusClosed:
			return a, ErrSaleFinished
		case !CanSellerEdit(a):
			return a, &Error{Code: CodeConflict, Message: "This lot already has bids, so it can no longer be changed."}
		case in.LotNumber != a.LotNumber:
			return a, Invalid("lot_number", "Bidding on this sale has started: a lot's number is its place in the sale and can no longer change.")
		}
	}
	if err := checkLot(in); err != nil {
		return a, err
	}
	next := a
	applyLotInput(&next, s, in)
	next.UpdatedAt = now
	return next, nil
}

// LotInputOf is a lot's input as its seller would send it again.
func LotInputOf(a Auction) LotInput {
	return LotInput{LotNumber: a.LotNumber, Title: a.Title, Description: a.Description, StartPrice: a.StartPrice,
		Reserve: a.ReservePrice, LowEstimate: a.LowEstimate, HighEstimate: a.HighEstimate, BuyNow: a.BuyNowPrice}
}

// SortLots orders lots by lot number: the sale's lot order.
func SortLots(lots []Auction) {
	slices.SortFunc(lots, byLotNumber)
}

func byLotNumber(a, b Auction) int { return cmp.Compare(a.LotNumber, b.LotNumber) }

// Schedule gives every lot of a sale that has not opened its times: it
// opens with the sale, and lot i in lot order (counting withdrawn lots,
// whose slots stay empty) ends at first_close_at + (i−1) × gap. A lot with
// no bid takes the sale's fees again (one with bids keeps what its bidders
// were shown). It returns the lots whose times or settings changed, in lot
// order.
func Schedule(s Sale, lots []Auction, now time.Time) []Auction {
	SortLots(lots)
	opens := s.OpensAt
	if opens.IsZero() {
		opens = now.UTC()
	}
	var changed []Auction
	for i := range lots {
		a := &lots[i]
		if a.Status != StatusDraft && a.Status != StatusScheduled {
			continue
		}
		end := s.LotEndAt(i + 1)
		refee := a.BidCount == 0 && !SameFees(a.Fees, s.Fees)
		if a.StartsAt.Equal(opens) && a.EndsAt.Equal(end) && a.OriginalEndsAt.Equal(end) &&
			a.Currency == s.Currency && a.SoftCloseSeconds == s.SoftCloseSeconds && !refee {
			continue
		}
		a.StartsAt, a.EndsAt, a.OriginalEndsAt = opens, end, end
		a.Currency, a.SoftCloseSeconds = s.Currency, s.SoftCloseSeconds
		if refee {
			a.Fees = s.lotFees()
		}
		a.UpdatedAt = now.UTC()
		changed = append(changed, *a)
	}
	return changed
}
