package bidding

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// lockAuction reads an auction and, on PostgreSQL, locks its row until the
// transaction ends: the one serialization point per auction.
func (s *Service) lockAuction(tx *gorm.DB, id int64) (domain.Auction, error) {
	var row auctionRow
	err := tx.Raw("SELECT * FROM auctions WHERE id = ?"+s.forUpdate(), id).Scan(&row).Error
	if err != nil {
		return domain.Auction{}, err
	}
	if row.ID == 0 {
		return domain.Auction{}, domain.ErrAuctionNotFound
	}
	a := row.toDomain()
	if a.SaleID != 0 {
		// Its events carry the sale's pause. A pause locks every running
		// lot first, so holding this one, the read is current.
		var sale struct{ PausedAt *time.Time }
		if err := tx.Raw("SELECT paused_at FROM sales WHERE id = ?", a.SaleID).Scan(&sale).Error; err != nil {
			return domain.Auction{}, err
		}
		if sale.PausedAt != nil {
			a.PausedAt = sale.PausedAt.UTC()
		}
	}
	return a, nil
}

// saveState writes the parts of an auction that events change, its end
// floor set to its end.
func saveState(tx *gorm.DB, a domain.Auction) error {
	return tx.Model(&auctionRow{}).Where("id = ?", a.ID).Updates(stateColumns(a, false)).Error
}

// saveStates writes several auctions' state; on PostgreSQL in one
// statement, because a batch over many auctions would otherwise pay one
// round trip per auction while holding their locks. The lots in moved
// (those only a cascade changed) keep their end floor (stateColumns).
func (s *Service) saveStates(tx *gorm.DB, as []domain.Auction, moved map[int64]bool) error {
	if !s.pg || len(as) == 1 {
		for _, a := range as {
			err := tx.Model(&auctionRow{}).Where("id = ?", a.ID).Updates(stateColumns(a, moved[a.ID])).Error
			if err != nil {
				return err
			}
		}
		return nil
	}
	var q strings.Builder
	q.WriteString(`UPDATE auctions AS a SET status = v.status, current_price = v.current_price, bid_count = v.bid_count,
		leader_id = v.leader_id, leader_max = v.leader_max, leader_alias = v.leader_alias, bidder_count = v.bidder_count,
		seq = v.seq, ends_at = v.ends_at, updated_at = v.updated_at, cancel_reason = v.cancel_reason,
		ends_floor = CASE WHEN v.moved THEN a.ends_floor ELSE v.ends_at END FROM (VALUES `)
	args := make([]any, 0, len(as)*13)
	for i, a := range as {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?::bigint, ?::text, ?::bigint, ?::int, ?::bigint, ?::bigint, ?::text, ?::int, ?::bigint, ?::timestamptz, ?::timestamptz, ?::text, ?::boolean)")
		var leader any
		if a.LeaderID != 0 {
			leader = a.LeaderID
		}
		args = append(args, a.ID, string(a.Status), a.CurrentPrice, a.BidCount, leader, a.LeaderMax, a.LeaderAlias,
			a.BidderCount, a.Seq, a.EndsAt.UTC(), a.UpdatedAt.UTC(), a.CancelReason, moved[a.ID])
	}
	q.WriteString(`) AS v(id, status, current_price, bid_count, leader_id, leader_max, leader_alias, bidder_count, seq, ends_at, updated_at, cancel_reason, moved)
		WHERE a.id = v.id`)
	return tx.Exec(q.String(), args...).Error
}

// writeEvents appends events to the outbox in the caller's transaction.
// Personal events get the next positions of their users' logs; users are
// locked in id order so that two transactions never wait on each other in
// opposite orders.
func (s *Service) writeEvents(tx *gorm.DB, events []domain.Event) error {
	if len(events) == 0 {
		return nil
	}
	// Sales before users: every transaction locks auctions, then sales,
	// then users, each in id order, so none waits on another in a cycle.
	saleIDs, perSale := saleCounts(events)
	saleNext, err := s.reserveSaleSeqs(tx, saleIDs, perSale)
	if err != nil {
		return err
	}
	ids, perUser := personalCounts(events)
	next := make(map[int64]int64, len(ids))
	if err := s.reserveUserSeqs(tx, ids, perUser, next); err != nil {
		return err
	}
	rows, err := eventRows(events, next, saleNext)
	if err != nil {
		return err
	}
	return tx.CreateInBatches(rows, 500).Error
}

// saleCounts returns the sales whose logs events extend, in id order, and
// how many positions each needs.
func saleCounts(events []domain.Event) ([]int64, map[int64]int64) {
	var per map[int64]int64
	for _, e := range events {
		if e.InSaleLog() {
			if per == nil {
				per = map[int64]int64{}
			}
			per[e.SaleID]++
		}
	}
	ids := make([]int64, 0, len(per))
	for id := range per {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, per
}

// reserveSaleSeqs advances each sale's log by the events for it and
// returns the first new position of each. A sale has one writer at a time
// through its row lock, so its positions follow commit order.
func (s *Service) reserveSaleSeqs(tx *gorm.DB, ids []int64, per map[int64]int64) (map[int64]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	next := make(map[int64]int64, len(ids))
	for _, id := range ids {
		var last int64
		res := tx.Raw("UPDATE sales SET event_seq = event_seq + ? WHERE id = ? RETURNING event_seq", per[id], id).Scan(&last)
		if res.Error != nil {
			return nil, res.Error
		}
		if res.RowsAffected == 0 {
			return nil, errors.New("writeEvents: event for a missing sale")
		}
		next[id] = last - per[id] + 1
	}
	return next, nil
}

// personalCounts returns the users with personal events, in id order (the
// order to lock them in), and how many events each has.
func personalCounts(events []domain.Event) ([]int64, map[int64]int64) {
	var perUser map[int64]int64
	for _, e := range events {
		if e.Type.Personal() {
			if perUser == nil {
				perUser = map[int64]int64{}
			}
			perUser[e.UserID]++
		}
	}
	ids := make([]int64, 0, len(perUser))
	for id := range perUser {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, perUser
}

// payloadHint is the bytes per event the last batch of 64 events or more
// needed in eventRows (0 until there was one).
var payloadHint atomic.Int64

// eventRows gives personal events their positions, starting at next, and
// events in a sale's log theirs, starting at saleNext (it advances both),
// and encodes every event as an outbox row; a long run of covered lot
// events becomes one pack row (eventpack.go).
func eventRows(events []domain.Event, next, saleNext map[int64]int64) ([]eventRow, error) {
	runs := packRuns(events)
	rows := make([]eventRow, len(events))
	// Every payload is appended to one buffer, viewed as one string at
	// the end and sliced: a cascade's 500 payloads cost one allocation,
	// not 500 (and no copy through an encoder's buffer). A pack's events
	// are written in its line format, so the pack is one slice too. The
	// buffer is sized from what the last large batch needed per event: one
	// that grows copies everything so far, and a cascade's grew once.
	per := int(payloadHint.Load())
	if per == 0 {
		per = 400
	}
	buf := make([]byte, 0, per*len(events))
	ends := make([]int, len(events))
	run := 0 // the first run not behind i
	for i := range events {
		e := events[i] // the caller's events stay as they were
		if e.Type.Personal() {
			e.UserSeq = next[e.UserID]
			next[e.UserID]++
		}
		if e.InSaleLog() {
			seq, ok := saleNext[e.SaleID]
			if !ok {
				return nil, errors.New("writeEvents: no position reserved in sale's log")
			}
			e.SaleSeq = seq
			saleNext[e.SaleID]++
			sale := e.SaleID
			rows[i].SaleID, rows[i].SaleSeq = &sale, &seq
		}
		ch := e.Channel()
		e.ID = domain.MakeID(ch, e.ChannelSeq())
		subject := e.Subject()
		for run < len(runs) && runs[run].end <= i {
			run++
		}
		packed := run < len(runs) && runs[run].start <= i
		if packed {
			buf = append(append(append(append(buf, subject...), '\t'), e.ID...), '\t')
		}
		var ok bool
		start := len(buf)
		if buf, ok = appendEventJSON(buf, &e); !ok {
			b, err := json.Marshal(e)
			if err != nil {
				return nil, err
			}
			buf = append(buf[:start], b...)
		}
		if packed {
			buf = append(buf, '\n')
		}
		ends[i] = len(buf)
		rows[i] = eventRow{
			ChannelKind: string(ch.Kind), ChannelID: ch.ID, Seq: e.ChannelSeq(),
			EventID: e.ID, Type: string(e.Type), Subject: subject, CreatedAt: e.CommittedAt,
			SaleID: rows[i].SaleID, SaleSeq: rows[i].SaleSeq,
		}
	}
	if len(events) >= 64 {
		payloadHint.Store(int64(len(buf)/len(events) + 16))
	}
	// buf is never written again, so the string shares its bytes, as a
	// strings.Builder's does; a copy was a twentieth of what a node
	// allocated while a sale closed (#14).
	payloads, start := unsafe.String(unsafe.SliceData(buf), len(buf)), 0
	for i, end := range ends {
		rows[i].Payload, start = payloads[start:end], end
	}
	if len(runs) == 0 {
		return rows, nil
	}
	out := make([]eventRow, 0, len(rows))
	from := 0
	for _, r := range runs {
		out = append(out, rows[from:r.start]...)
		begin := 0
		if r.start > 0 {
			begin = ends[r.start-1]
		}
		cover := rows[r.end] // in the sale's log: its position keys the pack
		out = append(out, eventRow{
			ChannelKind: packKind, ChannelID: *cover.SaleID, Seq: *cover.SaleSeq,
			EventID: "p" + strconv.FormatInt(*cover.SaleID, 10) + "-" + strconv.FormatInt(*cover.SaleSeq, 10),
			Type:    packType, Payload: payloads[begin:ends[r.end-1]], CreatedAt: rows[r.start].CreatedAt,
		})
		from = r.end
	}
	return append(out, rows[from:]...), nil
}

// reserveUserSeqs advances each user's personal log by the number of events
// for them and records the first new position in next.
func (s *Service) reserveUserSeqs(tx *gorm.DB, ids []int64, perUser, next map[int64]int64) error {
	if s.pg && len(ids) > 1 {
		// Lock in id order first: the bulk UPDATE below would lock in
		// whatever order the join produces.
		if err := tx.Exec("SELECT id FROM users WHERE id IN ? ORDER BY id FOR NO KEY UPDATE", ids).Error; err != nil {
			return err
		}
		var q strings.Builder
		q.WriteString("UPDATE users AS u SET event_seq = u.event_seq + v.n FROM (VALUES ")
		args := make([]any, 0, 2*len(ids))
		for i, id := range ids {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?::bigint, ?::bigint)")
			args = append(args, id, perUser[id])
		}
		q.WriteString(") AS v(id, n) WHERE u.id = v.id RETURNING u.id, u.event_seq")
		var rows []struct{ ID, EventSeq int64 }
		if err := tx.Raw(q.String(), args...).Scan(&rows).Error; err != nil {
			return err
		}
		if len(rows) != len(ids) {
			return errors.New("writeEvents: personal event for a missing user")
		}
		for _, r := range rows {
			next[r.ID] = r.EventSeq - perUser[r.ID] + 1
		}
		return nil
	}
	for _, id := range ids {
		var last int64
		res := tx.Raw("UPDATE users SET event_seq = event_seq + ? WHERE id = ? RETURNING event_seq", perUser[id], id).Scan(&last)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errors.New("writeEvents: personal event for a missing user")
		}
		next[id] = last - perUser[id] + 1
	}
	return nil
}
