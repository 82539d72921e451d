package domain

import (
	"slices"
	"time"
)

// SaleEvent returns a sale-level event of type t carrying s's state. The
// store gives it its position in the sale's log (SaleSeq) as it writes it.
func SaleEvent(t EventType, s Sale, at time.Time) Event {
	e := Event{Type: t, SaleID: s.ID, SaleStatus: s.Status, Title: s.Title, CommittedAt: at.UTC()}
	if s.Paused() {
		p := s.PausedAt.UTC()
		e.PausedAt = &p
	}
	return e
}

// covered returns a lot's state event that a sale-level event stands for
// in the sale's log.
func covered(t EventType, a Auction, at time.Time) Event {
	e := StateEvent(t, a, at)
	e.Covered = true
	return e
}

// PublishSale moves a draft sale with at least one lot to scheduled, and
// its lots with it; a sale whose opening has come opens at once. lots are
// all the sale's lots; the result holds every lot that changed.
func PublishSale(s Sale, lots []Auction, now time.Time) (Sale, []Auction, []Event, error) {
	now = now.UTC()
	switch s.Status {
	case SaleDraft:
	case SaleClosed, SaleCancelled:
		return s, nil, nil, ErrSaleFinished
	default:
		return s, nil, nil, &Error{Code: CodeConflict, Message: "This sale is already published."}
	}
	live := 0
	for _, a := range lots {
		if a.Status != StatusCancelled {
			live++
		}
	}
	if live == 0 {
		return s, nil, nil, Invalid("lots", "Add at least one lot before publishing the sale.")
	}
	if s.OpensAt.IsZero() || s.OpensAt.Before(now) {
		s.OpensAt = now
	}
	if s.FirstCloseAt.Before(s.OpensAt.Add(MinAuctionDuration)) {
		return s, nil, nil, Invalid("first_close_at", "The first lot would close less than 10 seconds after the sale opens: move first_close_at later, then publish.")
	}
	if err := CheckSchedule(s, len(lots), now); err != nil {
		return s, nil, nil, err
	}
	s.Status = SaleScheduled
	s.UpdatedAt = now
	Schedule(s, lots, now)
	byID := map[int64]int{}
	for i := range lots {
		if lots[i].Status == StatusDraft {
			lots[i].Status = StatusScheduled
			lots[i].UpdatedAt = now
		}
		byID[lots[i].ID] = i
	}
	events := []Event{SaleEvent(EventSaleScheduled, s, now)}
	if !now.Before(s.OpensAt) {
		var opened []Auction
		var evs []Event
		s, opened, evs, _ = OpenSale(s, lots, now)
		for _, a := range opened {
			lots[byID[a.ID]] = a
		}
		events = append(events, evs...)
	}
	return s, lots, events, nil
}

// OpenSale opens a scheduled sale whose opening has come, and every lot
// still scheduled. ok is false when there is nothing to do.
func OpenSale(s Sale, lots []Auction, now time.Time) (Sale, []Auction, []Event, bool) {
	now = now.UTC()
	if s.Status != SaleScheduled || now.Before(s.OpensAt) {
		return s, nil, nil, false
	}
	s.Status = SaleOpen
	s.UpdatedAt = now
	var changed []Auction
	var events []Event
	for _, a := range lots {
		if a.Status != StatusScheduled {
			continue // opened early by a bid, or withdrawn
		}
		a.Status = StatusOpen
		a.Seq++
		a.UpdatedAt = now
		changed = append(changed, a)
		events = append(events, covered(EventOpened, a, now))
	}
	return s, changed, append(events, SaleEvent(EventSaleOpened, s, now)), true
}

// SaleProgress moves a sale along as its lots finish: an open sale is
// closing from its first lot's close (closed counts the closed lots), and
// a closing sale with no unclosed lot left is closed. The scheduler calls
// it after lots close, are bought outright or are withdrawn.
func SaleProgress(s Sale, closed, unclosed int, now time.Time) (Sale, []Event) {
	now = now.UTC()
	var events []Event
	if s.Status == SaleOpen && (closed > 0 || unclosed == 0) {
		s.Status = SaleClosing
		s.UpdatedAt = now
		events = append(events, SaleEvent(EventSaleClosing, s, now))
	}
	if s.Status == SaleClosing && unclosed == 0 {
		s.Status = SaleClosed
		s.PausedAt = time.Time{}
		s.UpdatedAt = now
		events = append(events, SaleEvent(EventSaleClosed, s, now))
	}
	return s, events
}

// CancelSale cancels a sale and every lot that has not closed. lots are
// the sale's lots; the result holds those that changed.
func CancelSale(s Sale, lots []Auction, reason string, now time.Time) (Sale, []Auction, []Event, error) {
	now = now.UTC()
	if s.Status == SaleClosed || s.Status == SaleCancelled {
		return s, nil, nil, ErrSaleFinished
	}
	var changed []Auction
	var events []Event
	for _, a := range lots {
		if !a.Unclosed() {
			continue
		}
		a.Status = StatusCancelled
		a.Seq++
		a.UpdatedAt = now
		e := covered(EventCancelled, a, now)
		e.Reason = reason
		changed = append(changed, a)
		events = append(events, e)
	}
	s.Status = SaleCancelled
	s.PausedAt = time.Time{}
	s.UpdatedAt = now
	e := SaleEvent(EventSaleCancelled, s, now)
	e.Reason = reason
	return s, changed, append(events, e), nil
}

// PauseSale stops every lot's clock: bids are refused and nothing closes
// until ResumeSale. Only an open or closing sale can be paused.
func PauseSale(s Sale, lots []Auction, now time.Time) (Sale, []Auction, []Event, error) {
	now = now.UTC()
	if err := checkRunning(s); err != nil {
		return s, nil, nil, err
	}
	if s.Paused() {
		return s, nil, nil, &Error{Code: CodeConflict, Message: "This sale is already paused."}
	}
	s.PausedAt = now
	s.UpdatedAt = now
	var changed []Auction
	var events []Event
	for _, a := range lots {
		if a.Status != StatusOpen && a.Status != StatusScheduled {
			continue
		}
		a.PausedAt = now
		a.Seq++
		a.UpdatedAt = now
		changed = append(changed, a)
		events = append(events, covered(EventPaused, a, now))
	}
	return s, changed, append(events, SaleEvent(EventSalePaused, s, now)), nil
}

// ResumeSale restarts a paused sale: every lot that has not closed ends
// later by the length of the pause, so each keeps the time it had left
// and the gaps between them hold. The cap on soft-close extensions moves
// with it: a pause is not an extension.
func ResumeSale(s Sale, lots []Auction, now time.Time) (Sale, []Auction, []Event, error) {
	now = now.UTC()
	if err := checkRunning(s); err != nil {
		return s, nil, nil, err
	}
	if !s.Paused() {
		return s, nil, nil, &Error{Code: CodeConflict, Message: "This sale is not paused."}
	}
	d := now.Sub(s.PausedAt)
	if d < 0 {
		d = 0
	}
	s.PausedAt = time.Time{}
	s.UpdatedAt = now
	var changed []Auction
	var events []Event
	for _, a := range lots {
		if a.Status != StatusOpen && a.Status != StatusScheduled {
			continue
		}
		prev := a.EndsAt.UTC()
		a.EndsAt = a.EndsAt.Add(d)
		a.OriginalEndsAt = a.OriginalEndsAt.Add(d)
		a.PausedAt = time.Time{}
		a.Seq++
		a.UpdatedAt = now
		e := covered(EventResumed, a, now)
		e.PreviousEndsAt = &prev
		changed = append(changed, a)
		events = append(events, e)
	}
	e := SaleEvent(EventSaleResumed, s, now)
	e.ShiftMS = d.Milliseconds()
	return s, changed, append(events, e), nil
}

func checkRunning(s Sale) error {
	switch s.Status {
	case SaleOpen, SaleClosing:
		return nil
	case SaleClosed, SaleCancelled:
		return ErrSaleFinished
	}
	return &Error{Code: CodeConflict, Message: "This sale has not opened yet."}
}

// CheckSaleBid refuses a bid on a lot of s that the sale's own state
// forbids, before the lot's rules judge it.
func CheckSaleBid(s Sale) error {
	switch {
	case s.Status == SaleDraft:
		return &Error{Code: CodeConflict, Message: "This sale has not been published yet."}
	case s.Status == SaleCancelled:
		return ErrAuctionCanceled
	case s.Paused():
		return ErrSalePaused
	}
	return nil
}

// Cascade applies a cascade-mode extension: lot from's end moved from
// prevEnd to from.EndsAt, and every later lot that has not closed moves by
// the same amount, capped per lot at its original end plus its maximum
// extension. later are the sale's lots numbered above from, in any order;
// it is left as it is. The result holds the lots that moved, in lot
// order, with one extended event each and one sale_extended event for the
// sale's log. It does nothing in lot mode or when the end did not move
// later.
func Cascade(s Sale, from Auction, prevEnd time.Time, later []Auction, now time.Time) ([]Auction, []Event) {
	moved, events := AppendCascade(nil, s, from, prevEnd, slices.Clone(later), now)
	if len(moved) == 0 {
		return nil, nil
	}
	return moved, events
}

// AppendCascade is Cascade for a caller that owns later and gathers
// events, as a store judging a batch does: it moves the lots of later in
// place, gathers the ones that moved at its front, in lot order, and
// returns them (later[:n]); their events and the sale's are appended to
// events. Lots that did not move are left in later[n:] in no given
// state. When nothing moves it returns later[:0] and events as they were.
//
// A cascade over a 500-lot sale is the costliest rule a bid runs: this
// form copies no lot and no event beyond the one it writes.
func AppendCascade(events []Event, s Sale, from Auction, prevEnd time.Time, later []Auction, now time.Time) ([]Auction, []Event) {
	d := from.EndsAt.Sub(prevEnd)
	if s.SoftCloseMode != SoftCloseCascade || d <= 0 {
		return later[:0], events
	}
	now = now.UTC()
	if !slices.IsSortedFunc(later, byLotNumber) {
		SortLots(later)
	}
	// prevs holds every moved lot's previous end, one array rather than
	// one allocation per event; it and events are sized at the first move.
	var prevs []time.Time
	sale := SaleEvent(EventSaleExtended, s, now)
	sale.AfterLot, sale.ShiftMS = from.LotNumber, d.Milliseconds()
	n := 0
	for i := range later {
		a := &later[i]
		if a.LotNumber <= from.LotNumber || (a.Status != StatusOpen && a.Status != StatusScheduled) {
			continue
		}
		end := a.EndsAt.Add(d)
		if limit := a.OriginalEndsAt.Add(a.MaxExtension); end.After(limit) {
			end = limit
			sale.Capped = append(sale.Capped, LotEnd{AuctionID: a.ID, EndsAt: maxTime(end, a.EndsAt).UTC()})
		}
		if !end.After(a.EndsAt) {
			continue
		}
		if n == 0 {
			events = slices.Grow(events, len(later)-i+1)
			prevs = make([]time.Time, 0, len(later)-i)
		}
		prevs = append(prevs, a.EndsAt.UTC())
		a.EndsAt = end
		a.Seq++
		a.UpdatedAt = now
		events = append(events, covered(EventExtended, *a, now))
		events[len(events)-1].PreviousEndsAt = &prevs[len(prevs)-1]
		if n != i {
			later[n] = *a
		}
		n++
	}
	if n == 0 {
		return later[:0], events
	}
	return later[:n], append(events, sale)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// LotSnapshot is a lot's state as a sale snapshot carries it: its
// snapshot event plus what a catalogue shows (title, estimates).
func LotSnapshot(a Auction) Event {
	e := StateEvent(EventSnapshot, a, a.UpdatedAt)
	e.LowEstimate, e.HighEstimate = a.LowEstimate, a.HighEstimate
	return e
}

// SaleSnapshot is the first event of a sale's stream: the sale and every
// lot's state, at the sale's log position s.Seq, which the lots agree with.
func SaleSnapshot(s Sale, lots []Event) Event {
	e := SaleEvent(EventSaleSnapshot, s, s.UpdatedAt)
	e.SaleSeq = s.Seq
	e.ID = MakeID(SaleChannel(s.ID), s.Seq)
	v := s.View(nil, time.Time{})
	e.Sale = &v
	e.Lots = lots
	if e.Lots == nil {
		e.Lots = []Event{}
	}
	return e
}
