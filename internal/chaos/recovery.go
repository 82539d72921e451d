package chaos

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Recovery is measured over one-second windows, from a fault's start to
// the next fault's (or the end of the storm): a window is normal when bids
// were acknowledged in it with a p99 within normalP99, and events
// committed in it reached the watchers within normalLag. A fault has
// recovered at the first window that starts a run of streak normal windows
// (a lone slow second later on, on a machine the suite shares with
// everything it runs, is not a relapse).
const (
	window    = time.Second
	normalLag = time.Second
	streak    = 3
)

// normalP99 is what a window's bid p99 may be: three times the baseline's
// (the minutes before the first fault), at least half a second.
func normalP99(ev *Evidence) time.Duration {
	var took []time.Duration
	for _, a := range ev.Acks {
		if a.At.After(ev.BaselineFrom) && a.At.Before(ev.BaselineTo) {
			took = append(took, a.Took)
		}
	}
	return max(3*p99(took), 500*time.Millisecond)
}

func p99(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)*99)/100]
}

// recoveries reports, for each fault, when bids and event delivery were
// normal again, and judges the faults that have a target.
func recoveries(ev *Evidence) []Result {
	limit := normalP99(ev)
	var out []Result
	for i, f := range ev.Faults {
		if f.Start.IsZero() {
			continue
		}
		end := ev.StormEnd
		if i+1 < len(ev.Faults) && !ev.Faults[i+1].Start.IsZero() {
			end = ev.Faults[i+1].Start
		}
		if end.After(ev.StormEnd) {
			end = ev.StormEnd // no bids past it: nothing to measure
		}
		bids, bidsOK := recoveredAt(f.Start, end, func(from, to time.Time) bool { return bidsNormal(ev, from, to, limit) })
		delivery, deliveryOK := recoveredAt(f.Start, end, func(from, to time.Time) bool { return deliveryNormal(ev, from, to) })
		ok := bidsOK && deliveryOK
		detail := fmt.Sprintf("bids normal (p99 ≤ %s) %s, events delivered within %s %s; healed after %s",
			limit.Round(time.Millisecond), since(bids, f, bidsOK), normalLag, since(delivery, f, deliveryOK), f.Heal.Sub(f.Start).Round(100*time.Millisecond))
		if f.Target > 0 {
			ok = ok && bids.Sub(f.Start) <= f.Target && delivery.Sub(f.Start) <= f.Target
			detail += fmt.Sprintf("; target %s", f.Target)
		}
		if !ok {
			detail += "; " + timeline(ev, f.Start, end)
		}
		out = append(out, Result{Check: "recovery: " + f.Name, OK: ok, Detail: detail})
	}
	return out
}

func since(t time.Time, f *Fault, ok bool) string {
	if !ok {
		return "never"
	}
	return fmt.Sprintf("%s after it began", t.Sub(f.Start).Round(100*time.Millisecond))
}

// recoveredAt returns the start of the first window that begins streak
// normal windows in a row (or every window left, when fewer remain before
// end).
func recoveredAt(start, end time.Time, normal func(from, to time.Time) bool) (time.Time, bool) {
	var wins []time.Time
	for t := start; !t.Add(window).After(end); t = t.Add(window) {
		wins = append(wins, t)
	}
	for i := range wins {
		n := min(streak, len(wins)-i)
		ok := true
		for k := i; k < i+n && ok; k++ {
			ok = normal(wins[k], wins[k].Add(window))
		}
		if ok {
			return wins[i], true
		}
	}
	return time.Time{}, false
}

func bidsNormal(ev *Evidence, from, to time.Time, limit time.Duration) bool {
	var took []time.Duration
	for _, a := range ev.Acks {
		if !a.At.Before(from) && a.At.Before(to) {
			took = append(took, a.Took)
		}
	}
	return len(took) > 0 && p99(took) <= limit
}

// deliveryNormal: events were committed in the window, and each reached
// every watcher that got it within normalLag. A window in which no watched
// event was committed (the database is down) is not normal.
func deliveryNormal(ev *Evidence, from, to time.Time) bool {
	n := 0
	for _, w := range ev.Watchers {
		for _, g := range w.Got {
			if g.Committed.Before(from) || !g.Committed.Before(to) || g.Type == "snapshot" {
				continue
			}
			n++
			if g.At.Sub(g.Committed) > normalLag {
				return false
			}
		}
	}
	return n > 0
}

// timeline shows a failed recovery's first seconds: each window's bid p99
// (or "-" without receipts) and its slowest delivery, to say which failed.
func timeline(ev *Evidence, start, end time.Time) string {
	var b strings.Builder
	b.WriteString("per second (bid p99/slowest delivery):")
	for t, n := start, 0; !t.Add(window).After(end) && n < 12; t, n = t.Add(window), n+1 {
		var took []time.Duration
		for _, a := range ev.Acks {
			if !a.At.Before(t) && a.At.Before(t.Add(window)) {
				took = append(took, a.Took)
			}
		}
		var lag time.Duration
		for _, w := range ev.Watchers {
			for _, g := range w.Got {
				if !g.Committed.Before(t) && g.Committed.Before(t.Add(window)) && g.Type != "snapshot" {
					lag = max(lag, g.At.Sub(g.Committed))
				}
			}
		}
		p := "-"
		if len(took) > 0 {
			p = p99(took).Round(10 * time.Millisecond).String()
		}
		fmt.Fprintf(&b, " %s/%s", p, lag.Round(10*time.Millisecond))
	}
	return b.String()
}
