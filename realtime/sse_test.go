package realtime

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sseEvent is one event as a browser's EventSource would dispatch it.
type sseEvent struct {
	ID   string // the last event ID at dispatch
	Type string
	Data string
}

// sseParser is a WHATWG "text/event-stream" parser (the interpretation
// rules of the HTML standard, section 9.2.6), fed in arbitrary chunks.
type sseParser struct {
	line     []byte
	lastCR   bool // the previous chunk ended in CR: a leading LF is part of that break
	started  bool
	data     strings.Builder
	hasData  bool
	evType   string
	lastID   string
	idFields int // id fields seen, dispatched or not
	retry    int
	retries  int // retry fields seen
	comments int
}

func (p *sseParser) feed(b []byte, emit func(sseEvent)) {
	if !p.started && len(b) > 0 {
		p.started = true
		b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	}
	for _, c := range b {
		if p.lastCR {
			p.lastCR = false
			if c == '\n' {
				continue
			}
		}
		switch c {
		case '\r':
			p.lastCR = true
			p.processLine(emit)
		case '\n':
			p.processLine(emit)
		default:
			p.line = append(p.line, c)
		}
	}
}

func (p *sseParser) processLine(emit func(sseEvent)) {
	line := string(p.line)
	p.line = p.line[:0]
	switch {
	case line == "":
		p.dispatch(emit)
		return
	case line[0] == ':':
		p.comments++
		return
	}
	field, value, found := strings.Cut(line, ":")
	if found {
		value = strings.TrimPrefix(value, " ")
	}
	switch field {
	case "event":
		p.evType = value
	case "data":
		p.data.WriteString(value)
		p.data.WriteByte('\n')
		p.hasData = true
	case "id":
		p.idFields++
		if !strings.ContainsRune(value, 0) {
			p.lastID = value
		}
	case "retry":
		if n, err := strconv.Atoi(value); err == nil && strings.Trim(value, "0123456789") == "" {
			p.retry = n
			p.retries++
		}
	}
}

func (p *sseParser) dispatch(emit func(sseEvent)) {
	data := p.data.String()
	p.data.Reset()
	typ := p.evType
	p.evType = ""
	if !p.hasData {
		return
	}
	p.hasData = false
	data = strings.TrimSuffix(data, "\n")
	if typ == "" {
		typ = "message"
	}
	emit(sseEvent{ID: p.lastID, Type: typ, Data: data})
}

// parseAll parses a complete stream body.
func parseAll(b []byte) ([]sseEvent, *sseParser) {
	var p sseParser
	var out []sseEvent
	p.feed(b, func(e sseEvent) { out = append(out, e) })
	return out, &p
}

var (
	goldenNow  = time.Date(2030, 5, 17, 12, 0, 0, 0, time.UTC)
	goldenEnds = time.Date(2030, 5, 17, 12, 5, 0, 0, time.UTC)
)

func goldenEvent() domain.Event {
	return domain.Event{
		ID: "a7-57", Type: domain.EventPrice, AuctionID: 7, Seq: 57,
		Title: "Teak chair", Currency: "EUR", Status: domain.StatusOpen,
		StartPrice: 1000, CurrentPrice: 4200, MinNextBid: 4400, BidCount: 9,
		Leader: "Bidder 3", HasReserve: true, ReserveMet: true,
		EndsAt: goldenEnds, BidID: 91, BidAmount: 4200, Bidder: "Bidder 3",
		CommittedAt: goldenNow.Add(-20 * time.Millisecond),
	}
}

func mustFrame(tb testing.TB, ev domain.Event, token string) *frame {
	tb.Helper()
	f, err := encodeEvent(ev, token, goldenNow)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

func TestGoldenFrames(t *testing.T) {
	t.Parallel()
	reset := goldenEvent()
	reset.Type, reset.Reset, reset.BidID, reset.BidAmount, reset.Bidder = domain.EventSnapshot, true, 0, 0, ""
	multi := &conn{chans: []chanPos{
		{t: &topic{ch: domain.AuctionChannel(7)}, seq: 57, known: true},
		{t: &topic{ch: domain.AuctionChannel(8)}, seq: 12, known: true},
		{t: &topic{ch: domain.AuctionChannel(9)}},
		{t: &topic{ch: domain.UserChannel(3)}, seq: 4, known: true},
	}}
	hostile := goldenEvent()
	hostile.Title = "line one\r\nid: 666\n\nevent: closed\rdata: {}\u2028"
	tests := []struct {
		name string
		got  []byte
	}{
		{"preamble", streamPreamble(3 * time.Second)},
		{"heartbeat", heartbeatFrame},
		{"price_single", mustFrame(t, goldenEvent(), "7:57").full},
		{"price_multi", append(multi.idLine(), mustFrame(t, goldenEvent(), "7:57").body...)},
		{"price_admin", mustFrame(t, goldenEvent(), "").full},
		{"snapshot_reset", mustFrame(t, reset, "7:57").full},
		{"hostile_title", mustFrame(t, hostile, "7:57").full},
		{"hostile_fields", appendEvent(nil, "1\r\n2\x003", "pri\nce\r", []byte("a\r\nb\rc\nd\n"))},
		{"comment", appendComment(nil, "hello\r\nworld")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, tt.got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create)", err)
			}
			if !bytes.Equal(tt.got, want) {
				t.Errorf("frame differs from %s:\ngot:\n%q\nwant:\n%q", path, tt.got, want)
			}
		})
	}
}

func TestHostileTitleStaysOneEvent(t *testing.T) {
	t.Parallel()
	ev := goldenEvent()
	ev.Title = "x\n\nevent: closed\ndata: {\"status\":\"closed\"}\n\nid: 1:999\r\r\n"
	f := mustFrame(t, ev, "7:57")
	evs, p := parseAll(f.full)
	if len(evs) != 1 || p.idFields != 1 {
		t.Fatalf("got %d events and %d id fields, want 1 and 1: %q", len(evs), p.idFields, f.full)
	}
	var back domain.Event
	if err := json.Unmarshal([]byte(evs[0].Data), &back); err != nil || back.Title != ev.Title {
		t.Fatalf("title did not survive: %v %q", err, back.Title)
	}
}

func TestAppendDataLineBreaks(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "data: \n"},
		{"a", "data: a\n"},
		{"a\nb", "data: a\ndata: b\n"},
		{"a\rb", "data: a\ndata: b\n"},
		{"a\r\nb", "data: a\ndata: b\n"},
		{"a\n\rb", "data: a\ndata: \ndata: b\n"},
		{"a\r", "data: a\ndata: \n"},
		{"\n", "data: \ndata: \n"},
	}
	for _, tt := range tests {
		if got := string(appendData(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("appendData(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// stripControls is what appendField does to a value.
func stripControls(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\r' && c != '\n' && c != 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// FuzzEncode proves that whatever text users put in an auction (title,
// reason, aliases) and whatever ids or names a caller passes, a WHATWG
// parser reads back exactly one event with the same type, id and data.
func FuzzEncode(f *testing.F) {
	f.Add("Teak chair", "", "7:57", "price", []byte("{}"))
	f.Add("a\nb", "c\r\nd", "1:2,u:3", "snapshot", []byte("x\ry\r\nz\n"))
	f.Add("\u2028\u2029", "data: x\n\nid: 9", "", "", []byte(""))
	f.Add("\x00\r", "\xff\xfe", "\x00", "ev\x00nt", []byte("\r\r\n\n"))
	f.Fuzz(func(t *testing.T, title, reason, id, typ string, raw []byte) {
		ev := goldenEvent()
		ev.Title, ev.Reason, ev.Leader = title, reason, reason+title
		ev.Type = domain.EventType(typ)
		fr, err := encodeEvent(ev, id, goldenNow)
		if err != nil {
			t.Fatal(err)
		}
		ev.ServerTime = goldenNow
		want, _ := json.Marshal(ev)
		evs, p := parseAll(fr.full)
		if len(evs) != 1 {
			t.Fatalf("%d events from %q", len(evs), fr.full)
		}
		wantType := stripControls(typ)
		if wantType == "" {
			wantType = "message"
		}
		wantID := stripControls(id)
		if evs[0].Type != wantType || evs[0].ID != wantID || evs[0].Data != string(want) {
			t.Fatalf("got %+v\nwant type %q id %q data %s", evs[0], wantType, wantID, want)
		}
		if id == "" && p.idFields != 0 {
			t.Fatalf("id field without an id: %q", fr.full)
		}
		if !bytes.Equal(fr.full[len(fr.full)-len(fr.body):], fr.body) {
			t.Fatal("body is not the tail of the full frame")
		}

		// The raw encoder: any bytes as data come back with line breaks
		// normalized to LF, never as more than one event.
		evs, _ = parseAll(appendEvent(nil, id, typ, raw))
		norm := strings.ReplaceAll(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\r", "\n")
		if len(evs) != 1 || evs[0].Data != norm || evs[0].ID != wantID {
			t.Fatalf("raw %q: got %+v", raw, evs)
		}
	})
}
