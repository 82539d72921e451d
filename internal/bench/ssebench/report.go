package ssebench

// The SSE benchmark's statistics and markdown report.

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// summarize merges the clients' arrivals of the events seqs.
func summarize(replies []sseReply, seqs []int64) *sseDelivery {
	d := &sseDelivery{}
	var streams int64
	for _, rp := range replies {
		streams += rp.Open + rp.Dropped
		d.gaps += rp.Gaps
		d.dups += rp.Dups
		d.dropped += rp.Dropped
	}
	d.expected = streams * int64(len(seqs))
	for _, seq := range seqs {
		var count, committed, last int64
		var lat []int32
		var encode int32
		for _, rp := range replies {
			s := rp.Events[seq]
			if s == nil {
				continue
			}
			for i := range s.Lat {
				encode = max(encode, s.Lat[i]-s.Fan[i])
			}
			count += int64(len(s.Lat))
			if committed == 0 || s.Committed < committed {
				committed = s.Committed
			}
			last = max(last, s.Last)
			lat = append(lat, s.Lat...)
			d.fan = append(d.fan, s.Fan...)
		}
		d.received += count
		if count > 0 {
			span := time.Duration(last - committed)
			d.spans = append(d.spans, span)
			d.rates = append(d.rates, float64(count)/span.Seconds())
			slices.Sort(lat)
			d.perEventLatency = append(d.perEventLatency, [3]int32{pct(lat, .5), pct(lat, .99), lat[len(lat)-1]})
			d.perEventEncode = append(d.perEventEncode, encode)
			d.lat = append(d.lat, lat...)
		}
	}
	slices.Sort(d.lat)
	slices.Sort(d.fan)
	return d
}

// pct is the p-quantile of sorted values.
func pct[T cmp.Ordered](v []T, p float64) T {
	if len(v) == 0 {
		var zero T
		return zero
	}
	return v[min(len(v)-1, int(p*float64(len(v))))]
}

func ms(us int32) string { return fmt.Sprintf("%.1f ms", float64(us)/1e3) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// thousands formats n with thousands separators.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func medianDur(v []time.Duration) time.Duration {
	v = slices.Clone(v)
	slices.Sort(v)
	return pct(v, .5)
}

func medianF(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return pct(v, .5)
}

// report prints the run as a markdown section.
func (b *sseBench) report(w io.Writer, r *sseResult) {
	o := b.o
	host, _ := os.Hostname()
	fmt.Fprintf(w, "## Realtime fan-out (SSE)\n\n")
	fmt.Fprintf(w, "machine: %s, %d CPUs, %s %s/%s; PostgreSQL fsync=%s synchronous_commit=%s; load average %s at start, %s at end; "+
		"whole machine %.0f%% busy during the idle window, %.0f%% during delivery\n\n",
		host, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, r.fsync, r.syncCm, r.load0, r.load1, r.busy, r.busyDeliver)
	fmt.Fprintf(w, "command: `gavel bench sse %s`: %s connections to one auction over %d realtime node processes "+
		"(`gavel serve --role realtime`), an api node and NATS (JetStream) in the benchmark process, %d client processes "+
		"(nice %d) from %d loopback source addresses, %d users (%d connections each), %d price changes; idle window %s. "+
		"The floor: %d floor servers holding as many sockets from %d more client processes at the same time; "+
		"each price change, once delivered, is followed by one floor frame, written by one tight loop per core\n\n",
		strings.Join(o.args, " "), thousands(int64(o.conns)), o.nodes, o.clients, o.clientNice, r.srcs, len(b.cookies), o.perUser, o.bids, o.idleWindow(o.heartbeat),
		o.nodes, o.clients)

	var grow, held int64
	var growConn int64
	var cpu, cpuShort, cpuEmpty float64
	for _, n := range r.nodes {
		cpuEmpty += n.cpuEmpty
		grow += n.rssIdle - n.rssBase
		growConn += n.rssConn - n.rssBase
		held += int64(n.held)
		cpu += n.cpu
		cpuShort += n.cpuShort
	}
	perConn := func(g int64) string {
		if r.conn.held == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f KiB", float64(g)/float64(r.conn.held)/1024)
	}
	var perNode []string
	for _, n := range r.nodes {
		perNode = append(perNode, fmt.Sprintf("%s %s", n.name, thousands(int64(n.held))))
	}
	fmt.Fprintln(w, "| measurement | result | target |")
	fmt.Fprintln(w, "|---|---|---|")
	fmt.Fprintf(w, "| connections held | %s of %s (per node: %s) | ~19,000 on one node; 100,000 over ~6 nodes |\n",
		thousands(r.conn.held), thousands(int64(o.conns)), strings.Join(perNode, ", "))
	var snapReqs, snapReads float64
	for _, n := range r.nodes {
		snapReqs, snapReads = snapReqs+n.snapReqs, snapReads+n.snapReads
	}
	fmt.Fprintf(w, "| connecting all (TCP connect to snapshot) | %s (%.0f/s), %d retries, %d failed; %s snapshot reads for %s stream setups | |\n",
		r.conn.took.Round(100*time.Millisecond), float64(r.conn.held)/r.conn.took.Seconds(), r.conn.retries, r.conn.failed,
		thousands(int64(snapReads)), thousands(int64(snapReqs)))
	fmt.Fprintf(w, "| server RSS per idle connection | **%s** (%s growth; %s right after connecting) | ≤ 8 KiB |\n",
		perConn(grow), mib(grow), perConn(growConn))
	fmt.Fprintf(w, "| idle CPU, heartbeat %s | **%.2f%%** of one core, all nodes (clients got %.0f heartbeats/s; the same nodes without streams: %.2f%%) | ≤ 10%% for 100,000 watchers at 15s |\n",
		o.heartbeat, cpu, r.hbRate, cpuEmpty)
	if r.hbRate > 0 {
		fmt.Fprintf(w, "| CPU per heartbeat (idle CPU minus the nodes' own, ÷ heartbeats/s) | %.1f µs | |\n",
			(cpu-cpuEmpty)/100/r.hbRate*1e6)
	}
	if o.shortHB > 0 {
		fmt.Fprintf(w, "| idle CPU, heartbeat %s | %.2f%% of one core (%.0f heartbeats/s; %s held) | |\n",
			o.shortHB, cpuShort, r.hbShortRate, thousands(r.connShort.held))
	}
	g, f := r.gavel, r.floor
	fmt.Fprintf(w, "| delivery | **%.3f%%** (%s of %s; gaps %d, duplicates %d, dropped streams %d, slow consumers %.0f) | 100%% |\n",
		100*float64(g.received)/float64(max(1, g.expected)), thousands(g.received), thousands(g.expected), g.gaps, g.dups, g.dropped, sumSlow(r.nodes))
	fmt.Fprintf(w, "| commit → arrival p50 / p99 / max | **%s / %s / %s** | p99 ≤ 1.5× floor |\n", ms(pct(g.lat, .5)), ms(pct(g.lat, .99)), ms(pct(g.lat, 1)))
	fmt.Fprintf(w, "| node encode (server_time) → arrival p50 / p99 / max | %s / %s / %s | |\n", ms(pct(g.fan, .5)), ms(pct(g.fan, .99)), ms(pct(g.fan, 1)))
	fmt.Fprintf(w, "| commit → last watcher, median / max over changes | %s / %s | |\n",
		medianDur(g.spans).Round(time.Millisecond), slices.Max(append(g.spans, 0)).Round(time.Millisecond))
	fmt.Fprintf(w, "| deliveries/s (connections ÷ commit → last arrival), median | %s | |\n", thousands(int64(medianF(g.rates))))
	if f != nil {
		fmt.Fprintf(w, "| raw write floor (%s sockets) p50 / p99 / max | %s / %s / %s (delivery %.3f%%; %s/s; write loop median %s) | |\n",
			thousands(r.floorConn.held), ms(pct(f.lat, .5)), ms(pct(f.lat, .99)), ms(pct(f.lat, 1)), 100*float64(f.received)/float64(max(1, f.expected)),
			thousands(int64(medianF(f.rates))), medianDur(f.loops).Round(100*time.Microsecond))
		fmt.Fprintf(w, "| Gavel p99 ÷ floor p99 | **%.2f×** | ≤ 1.5× |\n", float64(pct(g.lat, .99))/float64(max(1, pct(f.lat, .99))))
		gm, fm := medianP99(g), medianP99(f)
		fmt.Fprintf(w, "| median over changes of each change's p99: Gavel / floor | %s / %s (**%.2f×**) | |\n", ms(gm), ms(fm), float64(gm)/float64(max(1, fm)))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| node | streams | open files | RSS before | RSS connected | RSS idle | per stream (idle) | CPU, no streams | idle CPU "+o.heartbeat.String()+
		" | idle CPU "+o.shortHB.String()+" | frames written | slow consumers | rejected |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range r.nodes {
		per := "n/a"
		if n.held > 0 {
			per = fmt.Sprintf("%.2f KiB", float64(n.rssIdle-n.rssBase)/n.held/1024)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %.2f%% | %.2f%% | %.2f%% | %s | %.0f | %.0f |\n", n.name, thousands(int64(n.held)),
			thousands(int64(n.files)), mib(n.rssBase), mib(n.rssConn), mib(n.rssIdle), per, n.cpuEmpty, n.cpu, n.cpuShort, thousands(int64(n.delivered)), n.slow, n.rejected)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Per price change, commit → arrival p50 / p99 / max in ms (Gavel: in parentheses, the latest commit → node encode):")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "- Gavel: %s\n", perEvent(g, true))
	if f != nil {
		fmt.Fprintf(w, "- floor: %s\n", perEvent(f, false))
	}
	fmt.Fprintln(w)
	var notes []string
	if r.conn.held < int64(o.conns) {
		notes = append(notes, fmt.Sprintf("only %s of %s connections were held: %v", thousands(r.conn.held), thousands(int64(o.conns)), r.conn.errs))
	}
	for _, c := range []struct {
		name string
		c    sseConnected
	}{{"realtime nodes, heartbeat " + o.heartbeat.String(), r.conn}, {"realtime nodes, heartbeat " + o.shortHB.String(), r.connShort},
		{"floor", r.floorConn}} {
		if c.c.retries > 0 || c.c.failed > 0 {
			notes = append(notes, fmt.Sprintf("connecting to the %s: %d retries, %d failed; reasons: %v", c.name, c.c.retries, c.c.failed, c.c.errs))
		}
	}
	if held != r.conn.held {
		notes = append(notes, fmt.Sprintf("the nodes count %s streams, the clients %s", thousands(held), thousands(r.conn.held)))
	}
	for _, n := range r.nodes {
		if len(n.logLines) > 0 {
			notes = append(notes, fmt.Sprintf("%s logged %s", n.name, strings.Join(n.logLines, "; ")))
		}
	}
	if f != nil && f.shortWrites > 0 {
		notes = append(notes, fmt.Sprintf("the floor met %d full sockets", f.shortWrites))
	}
	for _, n := range notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
	}
}

func sumSlow(ns []sseNodeStat) float64 {
	var s float64
	for _, n := range ns {
		s += n.slow
	}
	return s
}

func perEvent(d *sseDelivery, encode bool) string {
	var parts []string
	for i, e := range d.perEventLatency {
		p := fmt.Sprintf("%.0f/%.0f/%.0f", float64(e[0])/1e3, float64(e[1])/1e3, float64(e[2])/1e3)
		if encode {
			p += fmt.Sprintf(" (%.0f)", float64(d.perEventEncode[i])/1e3)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// medianP99 is the median over events of each event's p99: one event
// delayed by the machine's other load moves it less than the pooled p99.
func medianP99(d *sseDelivery) int32 {
	var v []int32
	for _, e := range d.perEventLatency {
		v = append(v, e[1])
	}
	slices.Sort(v)
	return pct(v, .5)
}
