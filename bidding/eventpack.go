package bidding

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
)

// A pack is one outbox row that holds a run of covered lot events: the
// `extended` events of the ~500 later lots a cascading bid moves (or the
// lots a pause, resume or opening changes), which the sale-level event
// right after them stands for in the sale's log. One row instead of 500
// took the biggest single cost out of a cascading bid's transaction: the
// events' COPY was 5–8 ms at p50 and 12–23 ms at p99 of a ~21 ms commit,
// and its ~350 KB of WAL fed the commit's flush (docs/SALES.md, "Packed
// events").
//
// Nothing outside the outbox sees a pack. The relay publishes each event
// in it as its own message, in order, with its own Nats-Msg-Id, exactly
// as it would have published the rows, and a lot's replay (After) reads
// its events out of the packs as if they were rows.
//
// The row: channel_kind "pack", channel_id the sale, seq the sale position
// of the covering event that follows the run (unique, and ordered as the
// sale's log, so a replay can bound the packs it reads by sale position),
// no sale_id or sale_seq (a pack is not a position of the sale's log), and
// the payload one line per event: subject, tab, event id, tab, the event's
// JSON. Neither subjects nor ids hold a tab or a newline, and JSON never
// holds a raw newline.
const (
	packKind = "pack"
	packType = "pack"
	// packMin is the shortest run worth a pack: below it the rows are
	// cheap, and a lot's replay reads a pack whole for one event of it.
	packMin = 32
)

// packSpan is a run of events, [start, end), that eventRows writes as one
// pack; events[end] is the event that covers them in the sale's log.
type packSpan struct{ start, end int }

// packRuns finds the runs of at least packMin covered lot events of one
// sale, each immediately followed by an event in that sale's log (the one
// that stands for them). The pack takes the run's place among the rows,
// so the relay still publishes every event in the order of events.
func packRuns(events []domain.Event) []packSpan {
	var runs []packSpan
	for i := 0; i < len(events); {
		j := i
		for j < len(events) && events[j].Covered && !events[j].Type.Personal() && events[j].SaleID != 0 &&
			events[j].SaleID == events[i].SaleID && events[j].Channel().Kind == domain.ChannelAuction {
			j++
		}
		if j-i >= packMin && j < len(events) && events[j].InSaleLog() && events[j].SaleID == events[i].SaleID {
			runs = append(runs, packSpan{i, j})
		}
		i = max(j, i+1)
	}
	return runs
}

// packedEvent is one event of a pack, as the relay publishes it.
type packedEvent struct {
	Subject, EventID, Payload string
}

var errBadPack = errors.New("bidding: malformed event pack")

// unpack calls fn with each event of a pack's payload, in order, until fn
// returns false.
func unpack(payload string, fn func(packedEvent) bool) error {
	for len(payload) > 0 {
		line, rest, ok := strings.Cut(payload, "\n")
		if !ok {
			return errBadPack
		}
		payload = rest
		subject, tail, ok1 := strings.Cut(line, "\t")
		id, data, ok2 := strings.Cut(tail, "\t")
		if !ok1 || !ok2 || subject == "" || id == "" || data == "" {
			return errBadPack
		}
		if !fn(packedEvent{Subject: subject, EventID: id, Payload: data}) {
			return nil
		}
	}
	return nil
}

// packReadsMax bounds the packs one lot's replay reads. A lot watcher that
// fell behind by more cascades than that gets what was found before the
// first event still missing, or, when that is its very next one, the rest
// of the log as a trimmed one: the caller's snapshot covers it, as after
// retention.
var packReadsMax = 64 // a variable for tests only

// ownEvent is one of an auction's own event rows, as its replay reads it.
type ownEvent struct {
	Seq     int64
	SaleSeq *int64 // its position in its sale's log; nil outside one
	Payload string
}

// afterAuction is After for an auction's log: its own rows, and the events
// of its that packs hold (a lot's extended events from cascades, and the
// like). Packs are read only when the rows leave a gap below the
// auction's head, and only those between the sale positions of the lot's
// own events around the gap.
func (s *Service) afterAuction(ctx context.Context, id, after int64, limit int) ([]domain.Event, error) {
	db := s.db.WithContext(ctx)
	var own []ownEvent
	if err := db.Model(&eventRow{}).Select("seq, sale_seq, payload").
		Where("channel_kind = ? AND channel_id = ? AND seq > ?", string(domain.ChannelAuction), id, after).
		Order("seq").Limit(limit).Scan(&own).Error; err != nil {
		return nil, err
	}
	head := struct {
		Seq    int64
		SaleID *int64
	}{Seq: after + int64(limit)}
	if len(own) < limit || own[len(own)-1].Seq != after+int64(limit) {
		if err := db.Raw("SELECT seq, sale_id FROM auctions WHERE id = ?", id).Scan(&head).Error; err != nil {
			return nil, err
		}
	}
	want := min(head.Seq, after+int64(limit)) // the newest position to return
	found := make(map[int64]string, len(own))
	for _, r := range own {
		if r.Seq <= want {
			found[r.Seq] = r.Payload
		}
	}
	missing := int64(0)
	var top int64 // the newest missing position
	for seq := after + 1; seq <= want; seq++ {
		if _, ok := found[seq]; !ok {
			missing, top = missing+1, seq
		}
	}
	if missing > 0 && head.SaleID != nil {
		if err := s.readPacks(ctx, id, *head.SaleID, after, want, top, own, found, missing); err != nil {
			return nil, err
		}
	}
	seqs := make([]int64, 0, len(found))
	for seq := range found {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	// Only what follows after without a gap, unless the next one itself is
	// gone: then the caller learns the log was trimmed.
	if len(seqs) > 0 && seqs[0] == after+1 {
		for i := range seqs {
			if seqs[i] != after+1+int64(i) {
				seqs = seqs[:i]
				break
			}
		}
	}
	out := make([]domain.Event, 0, len(seqs))
	for _, seq := range seqs {
		var e domain.Event
		if err := json.Unmarshal([]byte(found[seq]), &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// readPacks adds to found the events of auction id at positions after+1
// to want that the packs of its sale hold, reading the packs between the
// sale positions of the auction's own events just before after+1 and just
// after top, the newest missing position.
func (s *Service) readPacks(ctx context.Context, id, sale, after, want, top int64, own []ownEvent,
	found map[int64]string, missing int64) error {
	db := s.db.WithContext(ctx)
	var lo int64
	if err := db.Model(&eventRow{}).Select("sale_seq").
		Where("channel_kind = ? AND channel_id = ? AND seq <= ? AND sale_seq IS NOT NULL", string(domain.ChannelAuction), id, after).
		Order("seq DESC").Limit(1).Scan(&lo).Error; err != nil {
		return err
	}
	var hi int64
	for _, r := range own {
		if r.Seq > top && r.SaleSeq != nil {
			hi = *r.SaleSeq
			break
		}
	}
	// "\ta<id>-" starts the event id of each of the auction's events in a
	// pack; JSON never holds a raw tab, so it occurs nowhere else.
	mark := "\t" + domain.MakeID(domain.AuctionChannel(id), 0)
	mark = mark[:len(mark)-1]
	for reads := 0; missing > 0 && reads < packReadsMax; {
		// A few at a time: each is ~240 KB once decompressed.
		var packs []struct {
			Seq     int64
			Payload string
		}
		q := db.Model(&eventRow{}).Select("seq, payload").Where("channel_kind = ? AND channel_id = ? AND seq > ?", packKind, sale, lo)
		if hi > 0 {
			q = q.Where("seq < ?", hi)
		}
		if err := q.Order("seq").Limit(min(8, packReadsMax-reads)).Scan(&packs).Error; err != nil {
			return err
		}
		if len(packs) == 0 {
			return nil
		}
		for _, p := range packs {
			lo, reads = p.Seq, reads+1
			for rest := p.Payload; ; {
				i := strings.Index(rest, mark)
				if i < 0 {
					break
				}
				rest = rest[i+1:]
				line, _, _ := strings.Cut(rest, "\n")
				idText, data, ok := strings.Cut(line, "\t")
				if !ok {
					return errBadPack
				}
				seq, err := strconv.ParseInt(idText[len(mark)-1:], 10, 64)
				if err != nil {
					return errBadPack
				}
				if _, have := found[seq]; !have && seq > after && seq <= want {
					found[seq] = data
					missing--
				}
			}
		}
	}
	return nil
}
