package bidding

import (
	"encoding/json"
	"reflect"
	"runtime"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/gavel-auctions/gavel/domain"
)

// checkEventJSON fails unless appendEventJSON writes exactly json.Marshal's
// bytes for e, or declines an event it is not meant for.
func checkEventJSON(t *testing.T, e domain.Event) {
	t.Helper()
	want, wantErr := json.Marshal(e)
	prefix := []byte("x")
	got, ok := appendEventJSON(prefix, &e)
	if !ok {
		if wantErr == nil && e.Invoice == nil && e.Offer == nil && e.Sale == nil && len(e.Lots) == 0 {
			t.Fatalf("declined an event json.Marshal encodes: %s", want)
		}
		return
	}
	if wantErr != nil {
		t.Fatalf("encoded %s; json.Marshal refused it: %v", got, wantErr)
	}
	if string(got[:1]) != "x" || string(got[1:]) != string(want) {
		t.Fatalf("encoded\n%s\nwant\n%s", got[1:], want)
	}
}

func TestEventJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 6, 9, 0, 0, 123456789, time.UTC)
	prev := at.Add(-time.Minute)
	paused := at.Add(time.Second)
	watchers := 0
	for name, e := range map[string]domain.Event{
		"zero": {},
		"extended lot": {ID: "a12-7", Type: domain.EventExtended, AuctionID: 12, Seq: 7, Currency: "EUR", Status: domain.StatusOpen,
			StartPrice: 1000, CurrentPrice: 1000, MinNextBid: 1100, EndsAt: at, PreviousEndsAt: &prev, CommittedAt: at,
			SaleID: 5, LotNumber: 17, Covered: true},
		"price with autos": {ID: "a1-2", Type: domain.EventPrice, AuctionID: 1, Seq: 2, Title: "Lamp", Currency: "EUR",
			Status: domain.StatusOpen, CurrentPrice: 1200, BidCount: 3, Leader: "Bidder 2", ReserveMet: true, HasReserve: true,
			BuyNowPrice: 9000, EndsAt: at, SellerID: 4, BidID: 9, BidAmount: 1200, Bidder: "Bidder 1",
			Auto:        []domain.AutoBid{{BidderID: 3, Bidder: "Bidder 2", Amount: 1100}, {Bidder: "Bidder 1", Amount: 1200}},
			CommittedAt: at, ServerTime: at, SaleID: 5, SaleSeq: 40, LotNumber: 1},
		"personal": {ID: "u5-41", Type: domain.EventWon, AuctionID: 1, UserID: 5, UserSeq: 41, WinnerID: 5, Winner: "Bidder 1",
			Reason: "struck", ThresholdSeconds: 900, Watchers: &watchers, CommittedAt: at, Reset: true},
		"sale extended": {ID: "s5-9", Type: domain.EventSaleExtended, SaleID: 5, SaleSeq: 9, SaleStatus: domain.SaleOpen,
			ShiftMS: 1000, AfterLot: 3, Capped: []domain.LotEnd{{AuctionID: 8, EndsAt: at}, {AuctionID: 9, EndsAt: prev}},
			PausedAt: &paused, LowEstimate: 10, HighEstimate: 20, CommittedAt: at},
		"escaped text": {Title: "<Lamp> & \"shade\"\n\x00", Leader: "Zoë", Bidder: "a\u2028b", Reason: "\xff\xfe", Currency: `\`},
		"zones":        {EndsAt: at.In(time.FixedZone("", 5*3600+30*60)), CommittedAt: at.In(time.FixedZone("", -7*3600)), ServerTime: at.Local()},
		"year 10000":   {EndsAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"offset 24h":   {CommittedAt: at.In(time.FixedZone("", 24*3600))},
		"invoice":      {Invoice: &domain.InvoiceNote{ID: 3}},
		"lots":         {Lots: []domain.Event{{ID: "a1-1"}}},
		"empty slices": {Auto: []domain.AutoBid{}, Capped: []domain.LotEnd{}, Lots: []domain.Event{}},
	} {
		t.Run(name, func(t *testing.T) { checkEventJSON(t, e) })
	}
}

// FuzzEventJSON holds appendEventJSON to json.Marshal, byte for byte.
func FuzzEventJSON(f *testing.F) {
	f.Add("a12-7", "extended", "EUR", "open", "Bidder 1", int64(12), int64(7), int64(1000), uint32(0b1011), int64(1796547600), int64(123456789), int32(0))
	f.Add("<b>&amp;", "\"\\\n", "Zoë", "\xff", "\u2028", int64(-1), int64(0), int64(1<<62), ^uint32(0), int64(-62135596800), int64(0), int32(-3600))
	f.Add("", "", "", "", "", int64(0), int64(0), int64(0), uint32(0), int64(253402300800), int64(1), int32(86400))
	f.Fuzz(func(t *testing.T, s1, s2, s3, s4, s5 string, n1, n2, n3 int64, flags uint32, sec, nsec int64, zone int32) {
		at := time.Unix(sec, nsec).In(time.FixedZone("", int(zone)))
		on := func(bit int) bool { return flags&(1<<bit) != 0 }
		pick := func(bit int, n int64) int64 {
			if on(bit) {
				return n
			}
			return 0
		}
		e := domain.Event{
			ID: s1, Type: domain.EventType(s2), AuctionID: n1, Seq: n2, UserID: pick(0, n3), UserSeq: pick(1, n1),
			Title: s3, Currency: s4, Status: domain.Status(s5), StartPrice: n2, CurrentPrice: n3, MinNextBid: n1,
			BidCount: int(int32(n2)), Leader: s5, ReserveMet: on(2), HasReserve: on(3), BuyNowPrice: pick(4, n2),
			EndsAt: at, SellerID: pick(5, n3), BidID: pick(6, n1), BidAmount: pick(7, n2), Bidder: s1,
			Winner: s3, WinnerID: pick(8, n3), Reason: s4, ThresholdSeconds: int(int32(pick(9, n1))),
			CommittedAt: at.Add(time.Duration(n3 % int64(time.Hour))), Reset: on(10),
			SaleID: pick(11, n1), SaleSeq: pick(12, n2), LotNumber: int(int32(pick(13, n3))),
			LowEstimate: pick(14, n1), HighEstimate: pick(15, n2), SaleStatus: domain.SaleStatus(s2),
			ShiftMS: pick(16, n3), AfterLot: int(int32(pick(17, n1))), Covered: on(18),
		}
		if on(19) {
			e.ServerTime = at
		}
		if on(20) {
			prev := at.Add(-time.Second)
			e.PreviousEndsAt = &prev
		}
		if on(21) {
			e.PausedAt = &at
		}
		if on(22) {
			w := int(int32(n1))
			e.Watchers = &w
		}
		if on(23) {
			e.Auto = []domain.AutoBid{{BidderID: n1, Bidder: s3, Amount: n2}, {Bidder: s4, Amount: n3}}
		}
		if on(24) {
			e.Capped = []domain.LotEnd{{AuctionID: n1, EndsAt: at}}
		}
		if on(25) {
			e.Sale = &domain.SaleView{}
		}
		checkEventJSON(t, e)
	})
}

// cascadeEvents are a 500-lot cascade's `extended` events, covered by the
// cascade's own event, as BenchmarkEventRows encodes them.
func cascadeEvents() []domain.Event {
	at := time.Date(2026, 12, 6, 9, 0, 0, 123456789, time.UTC)
	events := make([]domain.Event, 500)
	for i := range events {
		prev := at.Add(time.Duration(i) * time.Second)
		events[i] = domain.Event{Type: domain.EventExtended, AuctionID: int64(1000 + i), Seq: 40, Currency: "EUR",
			Status: domain.StatusOpen, StartPrice: 1000, CurrentPrice: 1000, MinNextBid: 1100, EndsAt: prev.Add(time.Second),
			PreviousEndsAt: &prev, CommittedAt: at, SaleID: 5, LotNumber: i + 2, Covered: true}
	}
	return events
}

// TestEventRowsAllocatesItsPayloadsOnce: a cascade's payloads are one
// buffer, sized from the batch before, and the rows' strings share it.
// Copying it into a string, or growing it on the way, each cost as much
// again, and a node closing a sale allocated that for every cascade (#14).
func TestEventRowsAllocatesItsPayloadsOnce(t *testing.T) {
	events := cascadeEvents()
	for i := range events {
		// Past the first guess of 400 bytes an event, as a catalogue's
		// titles take it.
		events[i].Title = "Lot " + strconv.Itoa(i+2) + ": a Georgian silver sauceboat on three shell feet, London 1762"
	}
	rows, err := eventRows(events, nil, nil) // sets the size for the next
	if err != nil {
		t.Fatal(err)
	}
	payload := 0
	for _, r := range rows {
		payload += len(r.Payload)
	}
	// Besides the buffer: two row arrays, the ends, and each event's
	// subject (two small strings).
	other := len(events) * (2*int(unsafe.Sizeof(eventRow{})) + 8 + 2*32)
	const runs = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		if _, err := eventRows(events, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	per := int(after.TotalAlloc-before.TotalAlloc) / runs
	if limit := payload*11/10 + other; per > limit {
		t.Errorf("a cascade's rows allocate %d bytes, want at most %d: %d of payloads and %d besides", per, limit, payload, other)
	}
}

// BenchmarkEventRows encodes a 500-lot cascade's `extended` events as
// outbox rows, against encoding/json on the same events:
//
//	go test -run '^$' -bench BenchmarkEventRows -benchmem ./bidding/
func BenchmarkEventRows(b *testing.B) {
	events := cascadeEvents()
	b.Run("eventRows", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := eventRows(events, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, e := range events {
				e.ID = domain.MakeID(e.Channel(), e.ChannelSeq())
				if _, err := json.Marshal(e); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// TestEventJSONCoversEveryField guards appendEventJSON against a field
// added to domain.Event later: it sets every field (by reflection, so a
// new one is included without editing this test) to a value that is not
// zero and wants json.Marshal's bytes. The fields that send an event to
// encoding/json (invoice, offer, sale, lots) stay zero.
func TestEventJSONCoversEveryField(t *testing.T) {
	t.Parallel()
	fallback := map[string]bool{"Invoice": true, "Offer": true, "Sale": true, "Lots": true}
	var e domain.Event
	v := reflect.ValueOf(&e).Elem()
	at := time.Date(2026, 12, 6, 9, 30, 0, 5, time.UTC)
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		if fallback[name] || !v.Type().Field(i).IsExported() {
			continue
		}
		if !fillNonZero(f, at, int64(i+1)) {
			t.Fatalf("domain.Event.%s is a %s: teach fillNonZero (and appendEventJSON) that kind", name, f.Type())
		}
	}
	want, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := appendEventJSON(nil, &e)
	if !ok {
		t.Fatal("appendEventJSON fell back for an event with no invoice, offer, sale or lots")
	}
	if string(got) != string(want) {
		t.Errorf("appendEventJSON does not write every field of domain.Event:\n got %s\nwant %s", got, want)
	}
}

// fillNonZero sets f to a value that is not its zero value; false for a
// kind it does not know.
func fillNonZero(f reflect.Value, at time.Time, n int64) bool {
	if f.Type() == reflect.TypeOf(time.Time{}) {
		f.Set(reflect.ValueOf(at.Add(time.Duration(n) * time.Second)))
		return true
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString("s" + strconv.FormatInt(n, 10))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f.SetInt(n)
	case reflect.Bool:
		f.SetBool(true)
	case reflect.Pointer:
		p := reflect.New(f.Type().Elem())
		if !fillNonZero(p.Elem(), at, n) {
			return false
		}
		f.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(f.Type(), 2, 2)
		for i := range 2 {
			if !fillNonZero(s.Index(i), at, n+int64(i)) {
				return false
			}
		}
		f.Set(s)
	case reflect.Struct:
		for i := range f.NumField() {
			if f.Type().Field(i).IsExported() && !fillNonZero(f.Field(i), at, n+int64(i)) {
				return false
			}
		}
	default:
		return false
	}
	return true
}
