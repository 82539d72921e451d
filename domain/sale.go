package domain

import (
	"strings"
	"time"
	"unicode/utf8"
)

// SaleStatus is a sale's lifecycle state:
// draft → scheduled → open → closing → closed, or cancelled.
type SaleStatus string

// The sale states. A sale is closing from its first lot's close until its
// last lot's.
const (
	SaleDraft     SaleStatus = "draft"
	SaleScheduled SaleStatus = "scheduled"
	SaleOpen      SaleStatus = "open"
	SaleClosing   SaleStatus = "closing"
	SaleClosed    SaleStatus = "closed"
	SaleCancelled SaleStatus = "cancelled"
)

// SoftCloseMode says what a late bid on a lot extends.
type SoftCloseMode string

// The soft-close modes: in lot mode a bid extends only its own lot; in
// cascade mode it also moves every later lot that has not closed by the
// same amount, so the gaps and the closing order hold through the sale.
const (
	SoftCloseLot     SoftCloseMode = "lot"
	SoftCloseCascade SoftCloseMode = "cascade"
)

// Limits and defaults of sales.
const (
	MaxLotsPerSale     = 5000
	MaxLotNumber       = 1_000_000
	MaxGapSeconds      = 3600
	MaxTermsLen        = 10_000
	DefaultGapSeconds  = 60
	DefaultSaleSoftEnd = DefaultSoftCloseSeconds
)

// Sale is a catalogue of lots that close one after another. Its lots are
// auctions (Auction.SaleID); the sale holds what they share.
type Sale struct {
	ID          int64
	SellerID    int64
	Title       string
	Description string
	Terms       string
	Currency    string
	Increment   int64 // 0: the default price-banded table; a lot may set its own
	// Fees are the sale's buyer's premium, tax and shipping options. Every
	// lot carries a copy (Auction.Fees), taken when it is added or edited
	// and re-taken when the sale's fees change before its first bid, so a
	// lot is sold under what its bidders were shown. nil: no fees.
	Fees *Fees

	// OpensAt is when bidding starts on every lot; zero on a draft means
	// "when published".
	OpensAt          time.Time
	FirstCloseAt     time.Time
	GapSeconds       int
	SoftCloseSeconds int
	SoftCloseMode    SoftCloseMode

	Status   SaleStatus
	PausedAt time.Time // zero while not paused
	// Seq is the head of the sale's log. The store assigns sale positions
	// as it writes events, as it does for users' personal logs.
	Seq int64

	CreatedAt time.Time
	UpdatedAt time.Time
}

// FeeSchedule returns the fees the sale's lots are sold under (zero when
// none).
func (s Sale) FeeSchedule() Fees {
	if s.Fees == nil {
		return Fees{}
	}
	return *s.Fees
}

// Paused reports whether an admin has paused the sale.
func (s Sale) Paused() bool { return !s.PausedAt.IsZero() }

// Gap is the time between consecutive lots' scheduled closes.
func (s Sale) Gap() time.Duration { return time.Duration(s.GapSeconds) * time.Second }

// LotEndAt is the scheduled end of the lot at 1-based position i in lot
// order: first_close_at + (i−1) × gap.
func (s Sale) LotEndAt(i int) time.Time {
	return s.FirstCloseAt.Add(time.Duration(i-1) * s.Gap()).UTC()
}

// SaleInput is what a seller supplies to create or edit a sale. Pointers
// mark optional fields.
type SaleInput struct {
	Title            string
	Description      string
	Terms            string
	Currency         string
	Increment        int64
	OpensAt          *time.Time // nil: when published
	FirstCloseAt     time.Time
	GapSeconds       *int // nil: DefaultGapSeconds
	SoftCloseSeconds *int // nil: DefaultSoftCloseSeconds
	SoftCloseMode    SoftCloseMode
	// Fees nil: the seller's defaults on create, unchanged on edit; a
	// zero schedule removes the fees.
	Fees *Fees
}

// SaleFilter selects sales for listings.
type SaleFilter struct {
	Status   []SaleStatus // empty: scheduled, open and closing
	SellerID int64        // 0: any
	Limit    int          // 0: a sensible default
}

// SaleView is the public JSON resource of a sale.
type SaleView struct {
	ID               int64         `json:"id"`
	SellerID         int64         `json:"seller_id"`
	Title            string        `json:"title"`
	Description      string        `json:"description"`
	Terms            string        `json:"terms"`
	Currency         string        `json:"currency"`
	Increment        int64         `json:"increment,omitempty"`
	Status           SaleStatus    `json:"status"`
	OpensAt          *time.Time    `json:"opens_at"` // null: when published
	FirstCloseAt     time.Time     `json:"first_close_at"`
	GapSeconds       int           `json:"gap_seconds"`
	SoftCloseSeconds int           `json:"soft_close_seconds"`
	SoftCloseMode    SoftCloseMode `json:"soft_close_mode"`
	// The fees every lot of the sale is sold under, and their terms in
	// words (as on a lot's page).
	BuyersPremium []PremiumTier    `json:"buyers_premium"`
	Tax           *Tax             `json:"tax"`
	Shipping      []ShippingOption `json:"shipping"`
	FeeTerms      []string         `json:"fee_terms"`
	Paused        bool             `json:"paused"`
	PausedAt      *time.Time       `json:"paused_at,omitempty"`
	Seq           int64            `json:"seq"`
	Stats         *SaleStats       `json:"stats,omitempty"`
	ServerTime    time.Time        `json:"server_time,omitzero"`
}

// SaleStats counts a sale's lots by outcome, for listings and the seller's
// dashboard.
type SaleStats struct {
	Lots      int `json:"lots"`
	Open      int `json:"open"` // draft, scheduled or open
	Sold      int `json:"sold"`
	Unsold    int `json:"unsold"`
	Withdrawn int `json:"withdrawn"`
	Bids      int `json:"bids"`
	// HammerTotal sums the winning prices of the sold lots.
	HammerTotal int64 `json:"hammer_total"`
	// NextCloseAt is the end of the next unclosed lot in lot order.
	NextCloseAt *time.Time `json:"next_close_at,omitempty"`
	LastCloseAt *time.Time `json:"last_close_at,omitempty"`
}

// View returns the sale's public resource at server time now.
func (s Sale) View(stats *SaleStats, now time.Time) SaleView {
	v := SaleView{
		ID: s.ID, SellerID: s.SellerID, Title: s.Title, Description: s.Description, Terms: s.Terms,
		Currency: s.Currency, Increment: s.Increment, Status: s.Status, FirstCloseAt: s.FirstCloseAt.UTC(),
		GapSeconds: s.GapSeconds, SoftCloseSeconds: s.SoftCloseSeconds, SoftCloseMode: s.SoftCloseMode,
		Paused: s.Paused(), Seq: s.Seq, Stats: stats, ServerTime: now.UTC(),
	}
	f := s.FeeSchedule()
	v.BuyersPremium, v.Tax, v.Shipping, v.FeeTerms = f.BuyersPremium, f.Tax, f.Shipping, f.Terms(s.Currency)
	if v.BuyersPremium == nil {
		v.BuyersPremium = []PremiumTier{}
	}
	if v.Shipping == nil {
		v.Shipping = []ShippingOption{}
	}
	if !s.OpensAt.IsZero() {
		t := s.OpensAt.UTC()
		v.OpensAt = &t
	}
	if s.Paused() {
		t := s.PausedAt.UTC()
		v.PausedAt = &t
	}
	return v
}

// NewSale validates in and returns the draft sale a seller creates at now.
func NewSale(sellerID int64, in SaleInput, now time.Time) (Sale, error) {
	now = now.UTC()
	if err := ValidateSaleInput(in, now); err != nil {
		return Sale{}, err
	}
	s := Sale{SellerID: sellerID, Status: SaleDraft, CreatedAt: now, UpdatedAt: now}
	applySaleInput(&s, in)
	return s, nil
}

func applySaleInput(s *Sale, in SaleInput) {
	s.Title = strings.TrimSpace(in.Title)
	s.Description = strings.TrimSpace(in.Description)
	s.Terms = strings.TrimSpace(in.Terms)
	s.Currency = in.Currency
	s.Increment = in.Increment
	s.OpensAt = time.Time{}
	if in.OpensAt != nil {
		s.OpensAt = in.OpensAt.UTC()
	}
	s.FirstCloseAt = in.FirstCloseAt.UTC()
	s.GapSeconds = DefaultGapSeconds
	if in.GapSeconds != nil {
		s.GapSeconds = *in.GapSeconds
	}
	s.SoftCloseSeconds = DefaultSaleSoftEnd
	if in.SoftCloseSeconds != nil {
		s.SoftCloseSeconds = *in.SoftCloseSeconds
	}
	s.SoftCloseMode = in.SoftCloseMode
	if s.SoftCloseMode == "" {
		s.SoftCloseMode = SoftCloseLot
	}
	if in.Fees != nil {
		s.Fees = nil
		if !in.Fees.IsZero() {
			f := in.Fees.Normalize()
			s.Fees = &f
		}
	}
}

// CanEditSale reports whether the seller may still change the sale, add
// lots to it, edit them or cancel it: until bidding opens.
func CanEditSale(s Sale, now time.Time) bool {
	switch s.Status {
	case SaleDraft:
		return true
	case SaleScheduled:
		return now.Before(s.OpensAt)
	}
	return false
}

// errSaleStarted is why a sale that has opened can no longer be edited.
var errSaleStarted = &Error{Code: CodeConflict, Message: "Bidding on this sale has started, so it can no longer be changed."}

// ErrSaleFinished refuses changes to a closed or cancelled sale.
var ErrSaleFinished = &Error{Code: CodeGone, Message: "This sale has ended and can no longer be changed."}

// ErrSalePaused refuses a bid while an admin has paused the sale.
var ErrSalePaused = &Error{Code: CodeConflict, Message: "Bidding on this sale is paused by the auction house. Your bid was not placed: please bid again when the sale resumes."}

// ErrSaleNotFound is a missing sale, or one the viewer may not see.
var ErrSaleNotFound = &Error{Code: CodeNotFound, Message: "No such sale."}

// ErrLotNotFound is a missing lot of a sale.
var ErrLotNotFound = &Error{Code: CodeNotFound, Message: "No such lot in this sale."}

// saleEditError says why s can no longer be edited.
func saleEditError(s Sale) error {
	if s.Status == SaleClosed || s.Status == SaleCancelled {
		return ErrSaleFinished
	}
	return errSaleStarted
}

// EditSale applies a seller's changes to a sale that has not opened.
func EditSale(s Sale, in SaleInput, now time.Time) (Sale, error) {
	now = now.UTC()
	if !CanEditSale(s, now) {
		return s, saleEditError(s)
	}
	if err := ValidateSaleInput(in, now); err != nil {
		return s, err
	}
	next := s
	applySaleInput(&next, in)
	if next.Status == SaleScheduled && next.OpensAt.IsZero() {
		// A published sale keeps a definite opening.
		next.OpensAt = s.OpensAt
	}
	next.UpdatedAt = now
	return next, nil
}

// ValidateSaleInput checks every field of in and reports all problems at
// once, keyed by the API's field names.
func ValidateSaleInput(in SaleInput, now time.Time) error {
	fields := map[string]string{}
	title := strings.TrimSpace(in.Title)
	switch {
	case title == "":
		fields["title"] = "Enter a title."
	case !utf8.ValidString(in.Title) || hasNUL(in.Title):
		fields["title"] = "The title is not valid text."
	case utf8.RuneCountInString(title) > MaxTitleLen:
		fields["title"] = "Keep the title under 200 characters."
	}
	if utf8.RuneCountInString(in.Description) > MaxDescriptionLen || !utf8.ValidString(in.Description) || hasNUL(in.Description) {
		fields["description"] = "Keep the description under 10,000 characters of valid text."
	}
	if utf8.RuneCountInString(in.Terms) > MaxTermsLen || !utf8.ValidString(in.Terms) || hasNUL(in.Terms) {
		fields["terms"] = "Keep the terms under 10,000 characters of valid text."
	}
	if _, ok := LookupCurrency(in.Currency); !ok {
		fields["currency"] = "Choose a currency by its ISO 4217 code, such as EUR or USD."
	}
	if err := CheckAmount("increment", in.Increment, false); err != nil {
		fields["increment"] = err.(*Error).Message
	}
	opens := now
	if in.OpensAt != nil {
		if in.OpensAt.After(now.Add(MaxAuctionDuration)) {
			fields["opens_at"] = "The sale must open within 30 days."
		}
		if in.OpensAt.After(opens) {
			opens = in.OpensAt.UTC()
		}
	}
	switch {
	case in.FirstCloseAt.IsZero():
		fields["first_close_at"] = "Enter when the first lot closes."
	case in.FirstCloseAt.Before(opens.Add(MinAuctionDuration)):
		fields["first_close_at"] = "The first lot must close at least 10 seconds after the sale opens."
	case in.FirstCloseAt.After(opens.Add(MaxAuctionDuration)):
		fields["first_close_at"] = "The first lot must close within 30 days of the opening."
	}
	if in.GapSeconds != nil && (*in.GapSeconds < 0 || *in.GapSeconds > MaxGapSeconds) {
		fields["gap_seconds"] = "The gap between lots must be between 0 and 3600 seconds."
	}
	if in.SoftCloseSeconds != nil && (*in.SoftCloseSeconds < 0 || *in.SoftCloseSeconds > MaxSoftCloseSecond) {
		fields["soft_close_seconds"] = "Soft close must be between 0 (hard close) and 3600 seconds."
	}
	switch in.SoftCloseMode {
	case "", SoftCloseLot, SoftCloseCascade:
	default:
		fields["soft_close_mode"] = `The soft-close mode must be "lot" or "cascade".`
	}
	if in.Fees != nil {
		for k, m := range ValidateFees(in.Fees.Normalize()) {
			fields[k] = m
		}
	}
	return FieldErrors(fields)
}

func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

// CheckSchedule reports whether a sale of n lots fits the limits: at most
// MaxLotsPerSale lots, the last closing within 30 days of the opening.
func CheckSchedule(s Sale, n int, now time.Time) error {
	if n > MaxLotsPerSale {
		return Invalid("lots", "A sale may have at most 5,000 lots.")
	}
	opens := s.OpensAt
	if opens.IsZero() || opens.Before(now) {
		opens = now
	}
	if n > 0 && s.LotEndAt(n).After(opens.Add(MaxAuctionDuration)) {
		return Invalid("gap_seconds", "With this many lots the last one would close more than 30 days after the opening: shorten the gap or move the first close earlier.")
	}
	return nil
}

// LotResult is one lot's outcome, for a sale's results export.
type LotResult struct {
	AuctionID int64
	LotNumber int
	Title     string
	Currency  string
	Status    Status
	Sold      bool
	Hammer    int64 // the winning price; 0 when unsold
	Bids      int
	// The buyer, for the seller's eyes only.
	BuyerID    int64
	BuyerName  string
	BuyerEmail string
}

// ResultOf is a closed lot's outcome; buyer details are the caller's.
func ResultOf(a Auction) LotResult {
	r := LotResult{AuctionID: a.ID, LotNumber: a.LotNumber, Title: a.Title, Currency: a.Currency, Status: a.Status, Bids: a.BidCount}
	if w := Winner(a); w != 0 {
		r.Sold, r.Hammer, r.BuyerID = true, a.CurrentPrice, w
	}
	return r
}
