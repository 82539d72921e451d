package salebench

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// report waits for the last close to reach the watchers, collects their
// summaries and the database's record, checks the invariants and writes
// the markdown report.
func (r *run) report(ctx context.Context) error {
	if err := sleep(ctx, 5*time.Second); err != nil { // the last events reach every watcher
		return err
	}
	db := r.env.DB.WithContext(ctx)
	var head int64
	if err := db.Raw("SELECT event_seq FROM sales WHERE id = ?", r.sale.ID).Scan(&head).Error; err != nil {
		return err
	}
	var w WatchSummary
	for _, p := range r.watch {
		_ = p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			return fmt.Errorf("a watcher process did not report")
		}
		var s WatchSummary
		if err := json.Unmarshal([]byte(p.out.String()), &s); err != nil {
			return fmt.Errorf("watcher report %q: %w", truncate(p.out.String(), 200), err)
		}
		w.Conns += s.Conns
		w.Snapshots.Merge(s.Snapshots)
		w.Delivery.Merge(s.Delivery)
		w.Received += s.Received
		w.Gaps += s.Gaps
		w.Duplicates += s.Duplicates
		w.Reconnects += s.Reconnects
		w.Failed += s.Failed
		w.Errors = append(w.Errors, s.Errors...)
		for i := range s.Heads {
			if s.Starts[i] > 0 {
				w.Expected += uint64(head - s.Starts[i])
			}
		}
	}
	r.watch = nil

	// Closes: each lot once, in lot order, and how late against its end.
	var closes []struct {
		LotNumber int
		EndsAt    time.Time
		CreatedAt time.Time
		SaleSeq   int64
	}
	if err := db.Raw(`SELECT a.lot_number, a.ends_at, e.created_at, e.sale_seq FROM events e JOIN auctions a ON a.id = e.channel_id
		WHERE e.channel_kind = 'auction' AND e.type = 'closed' AND a.sale_id = ? ORDER BY e.sale_seq`, r.sale.ID).Scan(&closes).Error; err != nil {
		return err
	}
	var late Histogram
	order, once := true, len(closes) == len(r.lots)
	seen := map[int]bool{}
	for i, c := range closes {
		late.Add(c.CreatedAt.Sub(c.EndsAt))
		if seen[c.LotNumber] {
			once = false
		}
		seen[c.LotNumber] = true
		if i > 0 && c.LotNumber < closes[i-1].LotNumber {
			order = false
		}
	}
	var stored int64
	if err := db.Raw(`SELECT COUNT(*) FROM bids b JOIN auctions a ON a.id = b.auction_id
		WHERE (a.sale_id = ? OR a.id = ?) AND NOT b.voided`, r.sale.ID, r.single.ID).Scan(&stored).Error; err != nil {
		return err
	}
	var fsync, sync string
	db.Raw("SHOW fsync").Scan(&fsync)
	db.Raw("SHOW synchronous_commit").Scan(&sync)

	res := &r.results
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	sec := func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
	out := r.out
	fmt.Fprintf(out, "\n### gavel bench sale: %d lots %d s apart, cascade, %d watchers\n\n", len(r.lots), r.o.Gap, r.o.Watchers)
	wal := "WAL not warmed (on a fresh cluster each segment is created by the commit that reaches it)"
	if r.o.RecycleWAL {
		wal = "WAL segments recycled before the run (--recycle-wal)"
	}
	fmt.Fprintf(out, "PostgreSQL fsync=%s synchronous_commit=%s, %s; %s; run took %s.\n\n", fsync, sync, wal, r.env.Notes, time.Since(r.start).Round(time.Second))
	fmt.Fprintf(out, "| measure | p50 | p99 | max | n |\n|---|---|---|---|---|\n")
	row := func(name string, h Histogram, f func(time.Duration) string) {
		fmt.Fprintf(out, "| %s | %s | %s | %s | %d |\n", name, f(h.Quantile(0.5)), f(h.Quantile(0.99)), f(time.Duration(h.Max)*time.Microsecond), h.N)
	}
	row(fmt.Sprintf("cascading bid commit (its batch's transaction), moving ≥ %d later lots", len(r.lots)*9/10), res.cascadeFull, ms)
	row("… the same bids placed to acknowledged, with any wait for an earlier batch on the lot", res.fullAcked, ms)
	row("… of which the probe's, one bid at a time", res.fullProbe, ms)
	row("… of which snipes, while the scheduler closes lots", res.fullSnipe, ms)
	row("cascading bid commit, any", res.cascade, ms)
	row("baseline: bid in the sale that moves nothing", res.saleBid, ms)
	row("baseline: bid on a single listing", res.singleBid, ms)
	row("lateness of `closed` after the lot's end (incl. the 2 s close grace)", late, sec)
	row("catalogue stream delivery (committed_at to receipt)", w.Delivery, ms)
	row(fmt.Sprintf("catalogue stream: connect to the %d-lot snapshot, %d watchers connecting at once (retries included)", len(r.lots), r.o.Watchers), w.Snapshots, ms)
	row(fmt.Sprintf("catalogue stream: one bidder opens it (the %d-lot snapshot) while %d watch", len(r.lots), r.o.Watchers), res.soloOpens, ms)
	ratio := 0.0
	if w.Expected > 0 {
		ratio = 100 * float64(w.Received) / float64(w.Expected)
	}
	fmt.Fprintf(out, "\n- Delivery ratio: %.3f%% (%d of %d events over %d streams; %d gaps, %d duplicates, %d reconnects, %d streams without a snapshot).\n",
		ratio, w.Received, w.Expected, w.Conns, w.Gaps, w.Duplicates, w.Reconnects, w.Failed)
	fmt.Fprintf(out, "- Bids: %d acknowledged, %d stored (%s); refused: %v.\n", res.acked, stored, verdict(int64(res.acked) == stored, "none lost", "LOST BIDS"), res.refused)
	fmt.Fprintf(out, "- Closes: %d of %d lots, %s, %s.\n", len(closes), len(r.lots), verdict(once, "each exactly once", "NOT exactly once"),
		verdict(order, "in lot order", "OUT OF LOT ORDER"))
	if len(res.snipes) > 0 {
		fmt.Fprintf(out, "- Snipes, each bid's time: %s.\n", snipeList(res.snipes))
	}
	fmt.Fprintf(out, "- Sale log head %d; the widest cascade moved %d later lots.\n", head, res.movedMax)
	if len(w.Errors) > 0 {
		fmt.Fprintf(out, "- Watcher errors (first %d): %s\n", min(5, len(w.Errors)), strings.Join(w.Errors[:min(5, len(w.Errors))], "; "))
	}
	if int64(res.acked) != stored || !once || !order || (r.o.Watchers > 0 && (w.Gaps > 0 || w.Duplicates > 0)) {
		return fmt.Errorf("bench sale: an invariant failed (see the report)")
	}
	return nil
}

func verdict(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
