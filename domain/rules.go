package domain

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on auction input.
const (
	MaxTitleLen        = 200
	MaxDescriptionLen  = 10_000
	MaxSoftCloseSecond = 3600
	MaxAuctionDuration = 30 * 24 * time.Hour
	MinAuctionDuration = 10 * time.Second
)

// IncrementAt returns the increment that applies at price in auction a: the
// seller's fixed increment, or the default price-banded table.
func IncrementAt(a Auction, price int64) int64 {
	if a.Increment > 0 {
		return a.Increment
	}
	return DefaultIncrement(price, a.Currency)
}

// MinNextBid is the lowest amount a new bidder may bid now: the start price
// before the first bid, then the current price plus the increment.
func MinNextBid(a Auction) int64 {
	if a.LeaderID == 0 {
		return a.StartPrice
	}
	return a.CurrentPrice + IncrementAt(a, a.CurrentPrice)
}

// ReserveMet reports whether the current price reaches the hidden reserve
// (always true without a reserve once there is a bid).
func ReserveMet(a Auction) bool {
	if a.LeaderID == 0 {
		return a.ReservePrice == 0 && a.BidCount > 0
	}
	return a.CurrentPrice >= a.ReservePrice
}

// BuyNowAvailable reports whether buy-it-now can still be used: the seller
// set a price and nobody has bid yet.
func BuyNowAvailable(a Auction) bool {
	return a.BuyNowPrice > 0 && a.BidCount == 0 && (a.Status == StatusOpen || a.Status == StatusScheduled)
}

// CanSellerEdit reports whether the seller may still edit or cancel a.
func CanSellerEdit(a Auction) bool {
	return a.BidCount == 0 && (a.Status == StatusDraft || a.Status == StatusScheduled || a.Status == StatusOpen)
}

// BidRequest is a bid as the rules judge it. The store resolves Alias, the
// bidder's stable alias in this auction, before calling PlaceBid.
type BidRequest struct {
	BidderID  int64
	Alias     string
	Amount    int64
	MaxAmount int64 // 0: none
	BuyNow    bool
}

// Outcome is the result of one accepted bid.
type Outcome struct {
	Auction Auction // the state after the bid
	Bid     Bid     // the accepted bid; Seq is the seq of its first event
	Leading bool    // the bidder leads after the bid
	// Auto are the automatic bids the engine placed from hidden maxima in
	// answer to this bid, in order; the last public line of the history is
	// always the leader at the current price.
	Auto []AutoBid
	// Events in commit order: public events first (price, extended, or
	// closed), then personal ones (outbid, won) whose UserSeq the store
	// assigns.
	Events []Event
}

// PlaceBid applies one bid to a at server receipt time now and returns the
// resulting state and events, or an *Error saying why the bid is refused.
// It is pure: the same inputs always give the same outcome.
func PlaceBid(a Auction, req BidRequest, now time.Time) (Outcome, error) {
	now = now.UTC()
	if err := checkBid(a, req, now); err != nil {
		return Outcome{}, err
	}
	var events []Event
	if a.Status == StatusScheduled {
		// The scheduler may lag behind starts_at; the rule does not.
		a.Status = StatusOpen
		a.Seq++
		events = append(events, StateEvent(EventOpened, a, now))
	}
	if req.BuyNow {
		return buyNow(a, req, now, events), nil
	}
	return bid(a, req, now, events, true)
}

func checkBid(a Auction, req BidRequest, now time.Time) error {
	switch a.Status {
	case StatusClosed:
		return ErrAuctionClosed
	case StatusCancelled:
		return ErrAuctionCanceled
	case StatusDraft:
		return ErrNotOpen
	case StatusScheduled:
		if now.Before(a.StartsAt) {
			return ErrNotOpen
		}
	}
	if !now.Before(a.EndsAt) {
		return ErrAuctionClosed
	}
	if req.BidderID == a.SellerID {
		return ErrOwnAuction
	}
	if req.BuyNow {
		if !BuyNowAvailable(a) {
			return ErrBuyNowGone
		}
		return nil
	}
	if err := CheckAmount("amount", req.Amount, true); err != nil {
		return err
	}
	if err := CheckAmount("max_amount", req.MaxAmount, false); err != nil {
		return err
	}
	if req.MaxAmount != 0 && req.MaxAmount < req.Amount {
		return Invalid("max_amount", "Your maximum bid must be at least your bid.")
	}
	return nil
}

func tooLow(a Auction) error {
	min := MinNextBid(a)
	return &Error{
		Code:    CodeConflict,
		Message: "Your bid must be at least " + FormatMoney(min, a.Currency) + ".",
		Fields:  map[string]string{"amount": "Must be at least " + FormatMoney(min, a.Currency) + "."},
		Extra:   map[string]any{"min_next_bid": min, "current_price": a.CurrentPrice, "currency": a.Currency},
	}
}

// bid applies a normal or proxy bid. timed is false during a replay, which
// must not move the end time.
func bid(a Auction, req BidRequest, now time.Time, events []Event, timed bool) (Outcome, error) {
	max := req.MaxAmount
	if max < req.Amount {
		max = req.Amount
	}
	prev := a
	selfRaise := a.LeaderID != 0 && req.BidderID == a.LeaderID
	b := Bid{AuctionID: a.ID, BidderID: req.BidderID, Alias: req.Alias, Amount: req.Amount, MaxAmount: max, ReceivedAt: now, Raise: selfRaise}

	switch {
	case a.LeaderID == 0:
		if req.Amount < a.StartPrice {
			return Outcome{}, tooLow(a)
		}
		a.LeaderID, a.LeaderMax, a.LeaderAlias = req.BidderID, max, req.Alias
		a.CurrentPrice = req.Amount
	case req.BidderID == a.LeaderID:
		// Raising your own maximum never bids against yourself: the price
		// stays, except that reaching the reserve lifts it to the reserve.
		if max <= a.LeaderMax {
			return Outcome{}, &Error{Code: CodeConflict,
				Message: "You are already the highest bidder, with a maximum of " + FormatMoney(a.LeaderMax, a.Currency) + ". To raise it, enter a higher maximum.",
				Fields:  map[string]string{"max_amount": "Must be above your current maximum of " + FormatMoney(a.LeaderMax, a.Currency) + "."},
				Extra:   map[string]any{"min_next_bid": MinNextBid(a), "current_price": a.CurrentPrice, "currency": a.Currency}}
		}
		if max < MinNextBid(a) {
			return Outcome{}, tooLow(a)
		}
		a.LeaderMax = max
		timed = false
	default:
		if req.Amount < MinNextBid(a) {
			return Outcome{}, tooLow(a)
		}
		if max > a.LeaderMax {
			// The new bidder takes the lead at just enough to beat the old
			// leader's maximum, and never less than what they entered.
			price := a.LeaderMax + IncrementAt(a, a.LeaderMax)
			if price > max {
				price = max
			}
			if price < req.Amount {
				price = req.Amount
			}
			a.LeaderID, a.LeaderMax, a.LeaderAlias = req.BidderID, max, req.Alias
			a.CurrentPrice = price
		} else {
			// The leader's proxy answers; on equal maxima the earlier bid wins.
			price := max + IncrementAt(a, max)
			if price > a.LeaderMax {
				price = a.LeaderMax
			}
			if price > a.CurrentPrice {
				a.CurrentPrice = price
			}
		}
	}
	if a.ReservePrice > 0 && a.LeaderMax >= a.ReservePrice && a.CurrentPrice < a.ReservePrice {
		a.CurrentPrice = a.ReservePrice
	}
	a.BidCount++
	a.Seq++
	b.Seq = a.Seq
	if selfRaise {
		// The entered amount of a leader's raise is its hidden maximum in
		// disguise: the bid keeps only the resulting price, and the raise
		// is no public line of the history (its bidder sees it as
		// "maximum raised").
		b.Amount = a.CurrentPrice
	}
	auto := autoBids(prev, a, req, max)

	priceEv := StateEvent(EventPrice, a, now)
	if !selfRaise {
		priceEv.BidAmount, priceEv.Bidder = b.Amount, req.Alias
	}
	priceEv.Auto = auto
	events = append(events, priceEv)

	changed := a.CurrentPrice != prev.CurrentPrice || a.LeaderID != prev.LeaderID
	if timed && changed && a.SoftCloseSeconds > 0 {
		window := time.Duration(a.SoftCloseSeconds) * time.Second
		if !now.Before(a.EndsAt.Add(-window)) {
			end := now.Add(window)
			if limit := a.OriginalEndsAt.Add(a.MaxExtension); end.After(limit) {
				end = limit
			}
			if end.After(a.EndsAt) {
				old := a.EndsAt.UTC()
				a.EndsAt = end
				a.Seq++
				ext := StateEvent(EventExtended, a, now)
				ext.PreviousEndsAt = &old
				events = append(events, ext)
				// The price event already went out with the old end; the
				// extended event carries the new one.
			}
		}
	}
	if prev.LeaderID != 0 && a.LeaderID != prev.LeaderID {
		out := StateEvent(EventOutbid, a, now)
		out.UserID = prev.LeaderID
		events = append(events, out)
	}
	return Outcome{Auction: a, Bid: b, Leading: a.LeaderID == req.BidderID, Events: events, Auto: auto}, nil
}

// autoBids returns the automatic bids that explain how a bid of req (with
// maximum max) moved prev to next, as eBay's history shows them: a beaten
// maximum is revealed at its full amount, and the leader's proxy answers
// at the new price. Their amounts never fall, and the last one (or, when
// there is none, the bid itself) is the leader at the current price.
func autoBids(prev, next Auction, req BidRequest, max int64) []AutoBid {
	leader := AutoBid{BidderID: next.LeaderID, Bidder: next.LeaderAlias, Amount: next.CurrentPrice}
	switch {
	case prev.LeaderID == 0:
		// A first bid: only a jump to the reserve takes the price past it.
		if next.CurrentPrice != req.Amount {
			return []AutoBid{leader}
		}
		return nil
	case req.BidderID == prev.LeaderID:
		// A raise shows no public line; a jump to the reserve does.
		if next.CurrentPrice != prev.CurrentPrice {
			return []AutoBid{leader}
		}
		return nil
	case next.LeaderID == req.BidderID:
		// The challenger beat the old leader's maximum.
		var out []AutoBid
		if prev.LeaderMax > req.Amount {
			out = append(out, AutoBid{BidderID: prev.LeaderID, Bidder: prev.LeaderAlias, Amount: prev.LeaderMax})
		}
		if next.CurrentPrice != req.Amount {
			out = append(out, leader)
		}
		return out
	default:
		// The leader's maximum answered the challenger's.
		var out []AutoBid
		if max > req.Amount {
			out = append(out, AutoBid{BidderID: req.BidderID, Bidder: req.Alias, Amount: max})
		}
		return append(out, leader)
	}
}

func buyNow(a Auction, req BidRequest, now time.Time, events []Event) Outcome {
	a.LeaderID, a.LeaderAlias = req.BidderID, req.Alias
	a.LeaderMax = a.BuyNowPrice
	a.CurrentPrice = a.BuyNowPrice
	a.BidCount++
	a.Status = StatusClosed
	a.EndsAt = now
	a.Seq++
	b := Bid{AuctionID: a.ID, BidderID: req.BidderID, Alias: req.Alias, Amount: a.BuyNowPrice,
		MaxAmount: a.BuyNowPrice, BuyNow: true, Seq: a.Seq, ReceivedAt: now}
	closed := StateEvent(EventClosed, a, now)
	closed.Winner = req.Alias
	closed.BidAmount, closed.Bidder = a.BuyNowPrice, req.Alias
	won := StateEvent(EventWon, a, now)
	won.UserID, won.WinnerID, won.Winner = req.BidderID, req.BidderID, req.Alias
	return Outcome{Auction: a, Bid: b, Leading: true, Events: append(events, closed, won)}
}

// Winner returns the winning bidder of a closed auction, or 0 when it closed
// unsold (no bids, or the reserve was not met).
func Winner(a Auction) int64 {
	if a.Status != StatusClosed || a.LeaderID == 0 || !ReserveMet(a) {
		return 0
	}
	return a.LeaderID
}

// Open moves a scheduled auction to open once now reaches StartsAt. ok is
// false when there is nothing to do, so a duplicate open is a no-op.
func Open(a Auction, now time.Time) (next Auction, events []Event, ok bool) {
	if a.Status != StatusScheduled || now.Before(a.StartsAt) {
		return a, nil, false
	}
	a.Status = StatusOpen
	a.Seq++
	return a, []Event{StateEvent(EventOpened, a, now)}, true
}

// Close ends an auction whose end time has passed and names its winner. ok
// is false when a is not due or already final: a late or duplicate close is
// a no-op.
func Close(a Auction, now time.Time) (next Auction, events []Event, ok bool) {
	if (a.Status != StatusOpen && a.Status != StatusScheduled) || now.Before(a.EndsAt) {
		return a, nil, false
	}
	a.Status = StatusClosed
	a.Seq++
	closed := StateEvent(EventClosed, a, now)
	events = []Event{closed}
	if w := Winner(a); w != 0 {
		events[0].Winner = a.LeaderAlias
		won := StateEvent(EventWon, a, now)
		won.UserID, won.WinnerID, won.Winner = w, w, a.LeaderAlias
		events = append(events, won)
	}
	return a, events, true
}

// ReasonSellerSuspended is the reason bidders see when an auction ends
// because an admin suspended its seller. The admin's own reason may name
// fraud or a person, so it stays in the audit log.
const ReasonSellerSuspended = "The seller's account was suspended."

// Cancel cancels a scheduled or open auction.
func Cancel(a Auction, reason string, now time.Time) (Auction, []Event, error) {
	switch a.Status {
	case StatusClosed:
		return a, nil, ErrAuctionClosed
	case StatusCancelled:
		return a, nil, ErrAuctionCanceled
	}
	a.Status = StatusCancelled
	a.CancelReason = reason
	a.Seq++
	e := StateEvent(EventCancelled, a, now)
	e.Reason = reason
	return a, []Event{e}, nil
}

// Recompute rebuilds price, leader and counts of a from the bids that still
// count, in their original order, as if the removed bids had never been
// made. The end time is left as it is. It returns the new state with one
// price event.
func Recompute(a Auction, bids []Bid, now time.Time) (Auction, []Event) {
	r, events, _ := RecomputeHistory(a, bids, now)
	return r, events
}

// Replayed is one bid's part in a recomputation: whether it still counts,
// whether it is now a leader's raise, and the automatic bids it caused.
// Seq is the bid's own (unchanged) seq.
type Replayed struct {
	Seq     int64
	Counted bool
	Raise   bool
	Auto    []AutoBid
}

// RecomputeHistory is Recompute that also says, bid by bid in the order
// given, what the bid history must now show: the replay may turn a bid
// into a raise, skip one, or change the automatic bids around it.
func RecomputeHistory(a Auction, bids []Bid, now time.Time) (Auction, []Event, []Replayed) {
	r := a
	r.CurrentPrice, r.BidCount, r.LeaderID, r.LeaderMax, r.LeaderAlias = 0, 0, 0, 0, ""
	trace := make([]Replayed, len(bids))
	for i, b := range bids {
		trace[i].Seq = b.Seq
		if b.BuyNow {
			continue
		}
		req := BidRequest{BidderID: b.BidderID, Alias: b.Alias, Amount: b.Amount, MaxAmount: b.MaxAmount}
		out, err := bid(r, req, b.ReceivedAt, nil, false)
		if err != nil {
			// A bid that no longer fits (say, a leader's raise whose earlier
			// bid was removed) is skipped rather than failing the whole replay.
			continue
		}
		r = out.Auction
		trace[i] = Replayed{Seq: b.Seq, Counted: true, Raise: out.Bid.Raise, Auto: out.Auto}
	}
	r.Seq = a.Seq + 1
	return r, []Event{StateEvent(EventPrice, r, now)}, trace
}

// NewAuction validates in and returns the auction a seller creates at now.
func NewAuction(sellerID int64, in AuctionInput, now time.Time) (Auction, error) {
	now = now.UTC()
	if err := ValidateAuctionInput(in, now); err != nil {
		return Auction{}, err
	}
	a := Auction{
		SellerID:     sellerID,
		Title:        strings.TrimSpace(in.Title),
		Description:  strings.TrimSpace(strings.ReplaceAll(in.Description, "\r\n", "\n")),
		Currency:     in.Currency,
		StartPrice:   in.StartPrice,
		ReservePrice: in.ReservePrice,
		BuyNowPrice:  in.BuyNowPrice,
		Increment:    in.Increment,
		StartsAt:     now,
		EndsAt:       in.EndsAt.UTC(),
		MaxExtension: DefaultMaxExtension,
		Status:       StatusOpen,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	if in.Fees != nil && !in.Fees.IsZero() {
		f := in.Fees.Normalize()
		a.Fees = &f
	}
	a.SoftCloseSeconds = DefaultSoftCloseSeconds
	if in.SoftCloseSeconds != nil {
		a.SoftCloseSeconds = *in.SoftCloseSeconds
	}
	if in.StartsAt != nil && in.StartsAt.After(now) {
		a.StartsAt = in.StartsAt.UTC()
		a.Status = StatusScheduled
	}
	a.OriginalEndsAt = a.EndsAt
	if in.CategoryID != nil {
		a.CategoryID = *in.CategoryID
	}
	return a, nil
}

// Edit applies a seller's changes to an auction that has no bids yet.
func Edit(a Auction, in AuctionInput, now time.Time) (Auction, error) {
	if !CanSellerEdit(a) {
		if a.Status == StatusClosed || a.Status == StatusCancelled {
			return a, &Error{Code: CodeGone, Message: "This auction has ended and can no longer be changed."}
		}
		return a, ErrHasBids
	}
	if a.Status == StatusOpen && in.StartsAt == nil {
		// An open auction keeps its start; validation needs one.
		s := a.StartsAt
		in.StartsAt = &s
	}
	next, err := NewAuction(a.SellerID, in, now)
	if err != nil {
		return a, err
	}
	if a.Status == StatusOpen {
		next.StartsAt, next.Status = a.StartsAt, StatusOpen
	}
	next.ID, next.Seq, next.CreatedAt = a.ID, a.Seq, a.CreatedAt
	if in.Fees == nil {
		next.Fees = a.Fees
	}
	if in.CategoryID == nil {
		next.CategoryID = a.CategoryID
	}
	return next, nil
}

// ValidateAuctionInput checks every field of in and reports all problems at
// once, keyed by field name.
func ValidateAuctionInput(in AuctionInput, now time.Time) error {
	fields := map[string]string{}
	title := strings.TrimSpace(in.Title)
	switch {
	case title == "":
		fields["title"] = "Enter a title."
	case utf8.RuneCountInString(title) > MaxTitleLen:
		fields["title"] = "Keep the title under 200 characters."
	default:
		if msg := TextProblem(title, TitleText); msg != "" {
			fields["title"] = msg
		}
	}
	if utf8.RuneCountInString(in.Description) > MaxDescriptionLen {
		fields["description"] = "Keep the description under 10,000 characters."
	} else if msg := TextProblem(in.Description, DescriptionText); msg != "" {
		fields["description"] = msg
	}
	if _, ok := LookupCurrency(in.Currency); !ok {
		fields["currency"] = "Choose a currency by its ISO 4217 code, such as EUR or USD."
	}
	for _, f := range []struct {
		name     string
		v        int64
		required bool
	}{{"start_price", in.StartPrice, true}, {"reserve_price", in.ReservePrice, false},
		{"buy_now_price", in.BuyNowPrice, false}, {"increment", in.Increment, false}} {
		if err := CheckAmount(f.name, f.v, f.required); err != nil {
			fields[f.name] = err.(*Error).Message
		}
	}
	if _, bad := fields["reserve_price"]; !bad && in.ReservePrice != 0 && in.ReservePrice < in.StartPrice {
		fields["reserve_price"] = "The reserve must be at least the start price."
	}
	if _, bad := fields["buy_now_price"]; !bad && in.BuyNowPrice != 0 {
		floor := in.StartPrice
		if in.ReservePrice > floor {
			floor = in.ReservePrice
		}
		if in.BuyNowPrice < floor {
			fields["buy_now_price"] = "The buy-it-now price must be at least the start price and the reserve."
		}
	}
	start := now
	if in.StartsAt != nil {
		start = in.StartsAt.UTC()
		if start.After(now.Add(MaxAuctionDuration)) {
			fields["starts_at"] = "The start must be within 30 days."
		}
	}
	if start.Before(now) {
		start = now
	}
	switch {
	case in.EndsAt.IsZero():
		fields["ends_at"] = "Enter an end time."
	case in.EndsAt.Before(start.Add(MinAuctionDuration)):
		fields["ends_at"] = "The end must be at least 10 seconds after the start."
	case in.EndsAt.After(start.Add(MaxAuctionDuration)):
		fields["ends_at"] = "An auction may run for at most 30 days."
	}
	if in.Fees != nil {
		for k, m := range ValidateFees(in.Fees.Normalize()) {
			fields[k] = m
		}
	}
	if in.CategoryID != nil && *in.CategoryID < 0 {
		fields["category"] = "Choose a category from the list."
	}
	if in.SoftCloseSeconds != nil && (*in.SoftCloseSeconds < 0 || *in.SoftCloseSeconds > MaxSoftCloseSecond) {
		fields["soft_close_seconds"] = "Soft close must be between 0 (hard close) and 3600 seconds."
	}
	return FieldErrors(fields)
}
