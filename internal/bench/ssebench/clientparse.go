package ssebench

import (
	"bytes"
	"strconv"
	"time"
)

// A client stream's parser: its lines, and the price events it times.

// sseParse is where a stream's parser stands between lines: the current
// event's type and data so far.
type sseParse struct {
	typ  byte // typePrice, typeSnapshot, or 0 for any other
	data []byte
}

const (
	typePrice    = 'p'
	typeSnapshot = 's'
)

// onLine handles one line of a stream (with its newline) and reports
// whether it ended a snapshot event, which makes a fresh stream live.
func (w *sseWorker) onLine(c *sseClientConn, ps *sseParse, line []byte) (snapshot bool) {
	switch {
	case len(line) == 1:
		switch ps.typ {
		case typePrice:
			w.onPrice(c, ps.data, time.Now().UnixNano())
		case typeSnapshot:
			if seq, ok := jsonInt(ps.data, `"seq":`); ok {
				c.last = seq
			}
			snapshot = true
		}
		ps.typ, ps.data = 0, ps.data[:0]
	case line[0] == ':':
		w.heartbeats.Add(1)
	case bytes.HasPrefix(line, []byte("event: ")):
		switch string(bytes.TrimSpace(line[len("event: "):])) { // no allocation: compared, not kept
		case "price":
			ps.typ = typePrice
		case "snapshot":
			ps.typ = typeSnapshot
		default:
			ps.typ = 0
		}
	case bytes.HasPrefix(line, []byte("id: ")):
		c.id = append(c.id[:0], bytes.TrimSpace(line[len("id: "):])...)
	case bytes.HasPrefix(line, []byte("retry: ")):
		if ms, err := strconv.Atoi(string(bytes.TrimSpace(line[len("retry: "):]))); err == nil {
			c.wait = time.Duration(ms) * time.Millisecond
		}
	case bytes.HasPrefix(line, []byte("data: ")):
		ps.data = append(ps.data, bytes.TrimRight(line[len("data: "):], "\n")...)
	}
	return snapshot
}

// onPrice records one price event's arrival.
func (w *sseWorker) onPrice(c *sseClientConn, data []byte, at int64) {
	seq, _ := jsonInt(data, `"seq":`)
	w.counts[seq&4095].Add(1)
	switch {
	case seq <= c.last:
		w.dups.Add(1)
	case seq > c.last+1:
		w.gaps.Add(seq - c.last - 1)
	}
	c.last = max(c.last, seq)
	if w.rehome.Load() {
		// The reconnect storm counts deliveries, gaps and duplicates
		// only: the latency records would cost the clients CPU that the
		// survivor needs on this machine.
		return
	}
	committed := jsonTime(data, `"committed_at":"`)
	server := jsonTime(data, `"server_time":"`)
	c.mu.Lock()
	c.recs = append(c.recs, sseRec{seq: seq, at: at, committed: committed, server: server})
	c.mu.Unlock()
}
