package bidding

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// appendEventJSON appends e as JSON to b: byte for byte what json.Marshal
// writes (FuzzEventJSON holds it to that), without its reflection. A bid
// that cascades over 500 lots writes 500 `extended` events in its own
// transaction, and encoding/json spent ~1 ms of the commit's CPU on them.
// ok is false for an event carrying an invoice, an offer, a sale or lots
// (never one a bid writes), or a time json.Marshal refuses; the caller
// then encodes it with encoding/json.
func appendEventJSON(b []byte, e *domain.Event) (_ []byte, ok bool) {
	if e.Invoice != nil || e.Offer != nil || e.Sale != nil || len(e.Lots) > 0 {
		return b, false
	}
	w := jsonWriter{b: b, ok: true}
	w.str(`{"id":`, e.ID)
	w.str(`,"type":`, string(e.Type))
	w.int(`,"auction_id":`, e.AuctionID)
	w.int(`,"seq":`, e.Seq)
	w.intOmit(`,"user_id":`, e.UserID)
	w.intOmit(`,"user_seq":`, e.UserSeq)
	w.strOmit(`,"title":`, e.Title)
	w.str(`,"currency":`, e.Currency)
	w.str(`,"status":`, string(e.Status))
	w.int(`,"start_price":`, e.StartPrice)
	w.int(`,"current_price":`, e.CurrentPrice)
	w.int(`,"min_next_bid":`, e.MinNextBid)
	w.int(`,"bid_count":`, int64(e.BidCount))
	w.strOmit(`,"leader":`, e.Leader)
	w.bool(`,"reserve_met":`, e.ReserveMet)
	w.bool(`,"has_reserve":`, e.HasReserve)
	w.intOmit(`,"buy_now_price":`, e.BuyNowPrice)
	w.time(`,"ends_at":`, e.EndsAt)
	w.intOmit(`,"seller_id":`, e.SellerID)
	w.intOmit(`,"bid_id":`, e.BidID)
	w.intOmit(`,"bid_amount":`, e.BidAmount)
	w.strOmit(`,"bidder":`, e.Bidder)
	if len(e.Auto) > 0 {
		w.b = append(w.b, `,"auto":[`...)
		for i, a := range e.Auto {
			key := `{"bidder":`
			if i > 0 {
				key = `,{"bidder":`
			}
			w.str(key, a.Bidder)
			w.int(`,"amount":`, a.Amount)
			w.b = append(w.b, '}')
		}
		w.b = append(w.b, ']')
	}
	if e.PreviousEndsAt != nil {
		w.time(`,"previous_ends_at":`, *e.PreviousEndsAt)
	}
	w.strOmit(`,"winner":`, e.Winner)
	w.intOmit(`,"winner_id":`, e.WinnerID)
	w.strOmit(`,"reason":`, e.Reason)
	w.intOmit(`,"threshold_seconds":`, int64(e.ThresholdSeconds))
	if e.Watchers != nil {
		w.int(`,"watchers":`, int64(*e.Watchers))
	}
	w.time(`,"committed_at":`, e.CommittedAt)
	if !e.ServerTime.IsZero() {
		w.time(`,"server_time":`, e.ServerTime)
	}
	if e.Reset {
		w.bool(`,"reset":`, true)
	}
	w.intOmit(`,"sale_id":`, e.SaleID)
	w.intOmit(`,"sale_seq":`, e.SaleSeq)
	w.intOmit(`,"lot_number":`, int64(e.LotNumber))
	w.intOmit(`,"low_estimate":`, e.LowEstimate)
	w.intOmit(`,"high_estimate":`, e.HighEstimate)
	if e.PausedAt != nil {
		w.time(`,"paused_at":`, *e.PausedAt)
	}
	w.strOmit(`,"sale_status":`, string(e.SaleStatus))
	w.intOmit(`,"shift_ms":`, e.ShiftMS)
	w.intOmit(`,"after_lot":`, int64(e.AfterLot))
	if len(e.Capped) > 0 {
		w.b = append(w.b, `,"capped":[`...)
		for i, c := range e.Capped {
			key := `{"auction_id":`
			if i > 0 {
				key = `,{"auction_id":`
			}
			w.int(key, c.AuctionID)
			w.time(`,"ends_at":`, c.EndsAt)
			w.b = append(w.b, '}')
		}
		w.b = append(w.b, ']')
	}
	w.b = append(w.b, '}')
	return w.b, w.ok
}

// jsonWriter appends JSON members; each method's key carries the comma
// and colon around the member's name.
type jsonWriter struct {
	b  []byte
	ok bool
}

func (w *jsonWriter) int(key string, v int64) {
	w.b = strconv.AppendInt(append(w.b, key...), v, 10)
}

func (w *jsonWriter) intOmit(key string, v int64) {
	if v != 0 {
		w.int(key, v)
	}
}

func (w *jsonWriter) bool(key string, v bool) {
	w.b = strconv.AppendBool(append(w.b, key...), v)
}

func (w *jsonWriter) strOmit(key, s string) {
	if s != "" {
		w.str(key, s)
	}
}

// str writes s as a JSON string. Text that encoding/json would escape
// (quotes, backslashes, control characters, <, > and &, anything beyond
// ASCII) is rare in events, so that goes through encoding/json itself.
func (w *jsonWriter) str(key, s string) {
	w.b = append(w.b, key...)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			w.b = append(w.b, q...)
			return
		}
	}
	w.b = append(append(append(w.b, '"'), s...), '"')
}

// time writes t as time.Time.MarshalJSON does (RFC 3339 with nanoseconds);
// a time that method refuses (a year outside 0–9999, an offset of a day or
// more) makes the event fall back to encoding/json, which reports it.
func (w *jsonWriter) time(key string, t time.Time) {
	_, off := t.Zone()
	if y := t.Year(); y < 0 || y > 9999 || off <= -24*3600 || off >= 24*3600 {
		w.ok = false
		return
	}
	w.b = append(t.AppendFormat(append(append(w.b, key...), '"'), time.RFC3339Nano), '"')
}
