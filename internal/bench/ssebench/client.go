package ssebench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The worker side of `gavel bench sse`: client processes that hold the SSE
// connections and time every price event, and floor servers that write one
// pre-encoded frame to every socket in a tight loop. Both are the same
// binary, started by the coordinator, and take commands as JSON values on
// stdin, answering each with one JSON value on stdout. The end of the file
// is the coordinator's handling of every child process (realtime nodes
// included): start, commands, stop, and what /proc tells about them.

// sseCmd is one instruction from the coordinator.
type sseCmd struct {
	Op string `json:"op"` // connect, status, report, close, fire, exit

	// connect: connection i (First <= i < First+Count) streams Path from
	// Addrs[i%len(Addrs)], from source address Srcs[i%len(Srcs)], with
	// cookie Cookies[i/PerUser-CookieBase]. At most Dial connections are
	// being set up at once; setup gives up at Timeout.
	Addrs      []string      `json:"addrs,omitempty"`
	Path       string        `json:"path,omitempty"`
	Cookies    []string      `json:"cookies,omitempty"`
	CookieBase int           `json:"cookie_base,omitempty"`
	PerUser    int           `json:"per_user,omitempty"`
	First      int           `json:"first,omitempty"`
	Count      int           `json:"count,omitempty"`
	Srcs       []string      `json:"srcs,omitempty"`
	Dial       int           `json:"dial,omitempty"`
	Timeout    time.Duration `json:"timeout,omitempty"`
	// Rehome: a live stream the server ends is opened again, as an
	// EventSource would, after the server's retry: delay, with
	// Last-Event-ID, on the next address that accepts it (a proxy's
	// choice among the survivors).
	Rehome bool `json:"rehome,omitempty"`

	Seq int64 `json:"seq,omitempty"` // status: the event to count; fire: the seq to send
	// close: the moves' arrival curve is counted from this instant (Unix
	// ns; the kill), in slots of curveSlot.
	Since int64 `json:"since,omitempty"`
}

// sseReply answers an sseCmd.
type sseReply struct {
	Op         string                `json:"op"`
	Err        string                `json:"err,omitempty"`
	Open       int64                 `json:"open"`                  // streams live now (floor: sockets held)
	Failed     int64                 `json:"failed,omitempty"`      // gave up before the snapshot
	Dropped    int64                 `json:"dropped,omitempty"`     // live streams the server ended
	Retries    int64                 `json:"retries,omitempty"`     // setup attempts repeated
	Errors     map[string]int64      `json:"errors,omitempty"`      // reasons, counted
	Heartbeats int64                 `json:"heartbeats,omitempty"`  // comment lines received
	Count      int64                 `json:"count,omitempty"`       // status: price events of Seq received
	Gaps       int64                 `json:"gaps,omitempty"`        // price seqs skipped on a stream
	Dups       int64                 `json:"dups,omitempty"`        // price seqs received twice on a stream
	Events     map[int64]*sseSeqRecs `json:"events,omitempty"`      // report: by seq
	Took       time.Duration         `json:"took,omitempty"`        // connect: setup time; fire: write loop time
	Rehomed    int64                 `json:"rehomed,omitempty"`     // streams live again after the server ended them
	FirstLive  int64                 `json:"first_live,omitempty"`  // Unix ns of the earliest stream going live again
	LastLive   int64                 `json:"last_live,omitempty"`   // Unix ns of the latest stream going live again
	MoveLate   [3]float64            `json:"move_late,omitempty"`   // moves: reconnect started after retry:, p50/p90/max ms
	MoveTook   [3]float64            `json:"move_took,omitempty"`   // moves: reconnect start to head, p50/p90/max ms
	Tried      []int64               `json:"tried,omitempty"`       // close: moves whose reconnect started, by curveSlot since cmd.Since
	Back       []int64               `json:"back,omitempty"`        // close: moves streaming again, by curveSlot since cmd.Since
	WouldBlock int64                 `json:"would_block,omitempty"` // fire: sockets that took less than the frame
}

// sseSeqRecs is every arrival of one event in one worker.
type sseSeqRecs struct {
	Committed int64   `json:"c"`   // committed_at, Unix ns
	Last      int64   `json:"l"`   // latest arrival, Unix ns
	Lat       []int32 `json:"lat"` // arrival − committed_at, µs
	Fan       []int32 `json:"fan"` // arrival − server_time, µs
}

// sseChildIO runs a worker's command loop: one reply per command, until
// stdin ends (the coordinator is gone) or an exit command.
func sseChildIO(ctx context.Context, stdin io.Reader, stdout io.Writer, handle func(context.Context, sseCmd) sseReply) error {
	dec := json.NewDecoder(bufio.NewReader(stdin))
	enc := json.NewEncoder(stdout)
	for ctx.Err() == nil {
		var cmd sseCmd
		if err := dec.Decode(&cmd); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if cmd.Op == "exit" {
			return nil
		}
		r := handle(ctx, cmd)
		r.Op = cmd.Op
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// sseClientMain is `gavel bench sse client`: a process that holds up to
// ~19,000 streams, a goroutine and a 4 KiB read buffer each (under
// --kill-node a live stream is read by an epoll reader instead, and its
// goroutine waits; livereader_linux.go).
func sseClientMain(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench sse client", flag.ContinueOnError)
	name := fs.String("name", "client", "name in progress lines")
	life := fs.Duration("max-life", time.Hour, "exit after this long whatever happens")
	cpuProfile := fs.String("cpuprofile", "", "write this process's CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	ctx, cancel := context.WithTimeout(ctx, *life)
	defer cancel()
	w := &sseWorker{name: *name}
	defer w.closeAll(5 * time.Second)
	return sseChildIO(ctx, os.Stdin, stdout, w.handle)
}

// sseWorker is the state of one client process.
type sseWorker struct {
	name string

	mu    sync.Mutex
	conns []*sseClientConn
	wg    sync.WaitGroup

	downMu sync.Mutex
	down   map[string]time.Time // addresses that refused a connection, until when they are skipped

	closing    atomic.Bool
	open       atomic.Int64
	failed     atomic.Int64
	dropped    atomic.Int64
	retries    atomic.Int64
	heartbeats atomic.Int64
	gaps       atomic.Int64
	dups       atomic.Int64
	rehome     atomic.Bool
	rehomed    atomic.Int64
	firstLive  atomic.Int64
	// moves: per stream back after a move, how late its reconnect started
	// after its retry: delay (the client's own lag) and how long from
	// then until its head arrived (the survivor's set-up latency), µs.
	moveMu     sync.Mutex
	late, took []int32
	moves      [][2]int64 // per move: reconnect start and stream head, Unix ns
	lastLive   atomic.Int64
	counts     [4096]atomic.Int64 // price events by seq (mod 4096), for status polls

	errMu sync.Mutex
	errs  map[string]int64
}

// sseClientConn is one stream. Only its own goroutine appends to recs; the
// lock is for the report, taken once the run is idle.
type sseClientConn struct {
	mu   sync.Mutex
	nc   net.Conn
	last int64         // last auction seq seen (snapshot or price)
	fd   int           // the socket once an epoll reader has it (handOff), else -1
	id   []byte        // the last id: field, sent back as Last-Event-ID
	wait time.Duration // the last retry: field
	recs []sseRec
}

type sseRec struct{ seq, at, committed, server int64 }

func (w *sseWorker) note(reason string) {
	w.errMu.Lock()
	if w.errs == nil {
		w.errs = make(map[string]int64)
	}
	w.errs[reason]++
	w.errMu.Unlock()
}

func (w *sseWorker) summary() sseReply {
	w.errMu.Lock()
	errs := make(map[string]int64, len(w.errs))
	for k, v := range w.errs {
		errs[k] = v
	}
	w.errMu.Unlock()
	return sseReply{Open: w.open.Load(), Failed: w.failed.Load(), Dropped: w.dropped.Load(), Retries: w.retries.Load(),
		Errors: errs, Heartbeats: w.heartbeats.Load(), Gaps: w.gaps.Load(), Dups: w.dups.Load(),
		Rehomed: w.rehomed.Load(), FirstLive: w.firstLive.Load(), LastLive: w.lastLive.Load()}
}

func (w *sseWorker) handle(ctx context.Context, cmd sseCmd) sseReply {
	switch cmd.Op {
	case "connect":
		return w.connect(ctx, cmd)
	case "status":
		if cmd.Seq > 0 {
			sweepLive() // the events SO_RCVLOWAT left in live sockets
		}
		r := w.summary()
		r.Count = w.counts[cmd.Seq&4095].Load()
		return r
	case "report":
		sweepLive()
		r := w.summary()
		r.Events = w.report()
		return r
	case "close":
		sweepLive()
		w.closeAll(10 * time.Second)
		r := w.summary()
		r.MoveLate, r.MoveTook = w.moveQuantiles()
		r.Tried, r.Back = w.moveCurve(cmd.Since)
		return r
	}
	return sseReply{Err: "unknown op " + cmd.Op}
}

// connect starts a new phase: it forgets the previous one's numbers and
// opens cmd.Count streams, returning once each is live or has given up.
func (w *sseWorker) connect(ctx context.Context, cmd sseCmd) sseReply {
	w.closeAll(10 * time.Second)
	w.closing.Store(false)
	w.rehome.Store(cmd.Rehome)
	for _, c := range []*atomic.Int64{&w.open, &w.failed, &w.dropped, &w.retries, &w.heartbeats, &w.gaps, &w.dups, &w.rehomed, &w.firstLive, &w.lastLive} {
		c.Store(0)
	}
	w.moveMu.Lock()
	w.late, w.took, w.moves = nil, nil, nil
	w.moveMu.Unlock()
	for i := range w.counts {
		w.counts[i].Store(0)
	}
	w.errMu.Lock()
	w.errs = nil
	w.errMu.Unlock()
	if len(cmd.Addrs) == 0 || len(cmd.Srcs) == 0 || cmd.PerUser <= 0 || cmd.Dial <= 0 {
		return sseReply{Err: "connect: addrs, srcs, per_user and dial are required"}
	}
	srcs := make([]*net.TCPAddr, len(cmd.Srcs))
	for i, s := range cmd.Srcs {
		srcs[i] = &net.TCPAddr{IP: net.ParseIP(s)}
	}
	start := time.Now()
	deadline := start.Add(cmd.Timeout)
	sem := make(chan struct{}, cmd.Dial)
	var settled sync.WaitGroup
	progress := time.NewTicker(5 * time.Second)
	defer progress.Stop()
	for j := range cmd.Count {
		i := cmd.First + j
		u := i/cmd.PerUser - cmd.CookieBase
		if u < 0 || u >= len(cmd.Cookies) {
			return sseReply{Err: fmt.Sprintf("connect: no cookie for connection %d", i)}
		}
		addr := cmd.Addrs[i%len(cmd.Addrs)]
		req := []byte("GET " + cmd.Path + " HTTP/1.1\r\nHost: " + addr + "\r\nAccept: text/event-stream\r\nCookie: " +
			cmd.Cookies[u] + "\r\n\r\n")
	acquire:
		for {
			select {
			case sem <- struct{}{}:
				break acquire
			case <-ctx.Done():
				return sseReply{Err: ctx.Err().Error()}
			case <-progress.C:
				fmt.Fprintf(os.Stderr, "%s: %d/%d live\n", w.name, w.open.Load(), cmd.Count)
			}
		}
		c := &sseClientConn{fd: -1}
		w.mu.Lock()
		w.conns = append(w.conns, c)
		w.mu.Unlock()
		settled.Add(1)
		w.wg.Go(func() {
			settle := sync.OnceFunc(func() { <-sem; settled.Done() })
			defer settle()
			w.run(ctx, c, cmd.Addrs, i%len(cmd.Addrs), srcs[i%len(srcs)], req, deadline, settle)
		})
	}
	done := make(chan struct{})
	go func() { settled.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Until(deadline) + 20*time.Second):
		// Every attempt has its own deadline; this only guards the guard.
	case <-ctx.Done():
	}
	r := w.summary()
	r.Took = time.Since(start)
	return r
}

// closeAll ends every stream of the phase and waits (bounded) for their
// goroutines.
func (w *sseWorker) closeAll(wait time.Duration) {
	w.closing.Store(true)
	w.mu.Lock()
	conns := w.conns
	w.conns = nil
	w.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		if c.nc != nil {
			_ = c.nc.Close()
		}
		if c.fd >= 0 {
			// Its epoll reader sees the end and closes the socket.
			_ = syscall.Shutdown(c.fd, syscall.SHUT_RDWR)
		}
		c.mu.Unlock()
	}
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
	}
}

// ipBindAddressNoPort is Linux's IP_BIND_ADDRESS_NO_PORT: with a fixed
// source address, the port is chosen at connect(2) per destination rather
// than at bind(2) per source, so one source address is not limited to ~28k
// connections in total.
const ipBindAddressNoPort = 24

func noPortControl(_, _ string, rc syscall.RawConn) error {
	return rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
}

// run opens one stream and reads it until it ends, retrying setup (as an
// EventSource would) until deadline. With rehome, a live stream the server
// ends is opened again like an EventSource's: after the server's retry:
// delay, with Last-Event-ID, on the next address that takes it.
func (w *sseWorker) run(ctx context.Context, c *sseClientConn, addrs []string, ai int, src *net.TCPAddr, req []byte, deadline time.Time, settle func()) {
	backoff := 100 * time.Millisecond
	base, resume := req, false
	for attempt := 0; ; attempt++ {
		live, err := w.stream(ctx, c, addrs[ai], src, req, resume, settle)
		if live {
			w.open.Add(-1)
			if w.closing.Load() || ctx.Err() != nil {
				return
			}
			w.dropped.Add(1)
			w.note("dropped: " + errReason(err))
			if !w.rehome.Load() || len(c.id) == 0 {
				return
			}
			droppedAt := time.Now()
			if sleepCtx(ctx, c.wait) != nil {
				return
			}
			triedAt := time.Now()
			late := triedAt.Sub(droppedAt) - c.wait
			req, resume = withLastEventID(base, string(c.id)), true
			ai = w.skipDown(addrs, ai)
			settle = func() {
				w.rehomed.Add(1)
				w.moveMu.Lock()
				w.late = append(w.late, int32(late.Microseconds()))
				w.took = append(w.took, int32(time.Since(triedAt).Microseconds()))
				now := time.Now().UnixNano()
				w.moves = append(w.moves, [2]int64{triedAt.UnixNano(), now})
				w.moveMu.Unlock()
				for l := w.lastLive.Load(); l < now && !w.lastLive.CompareAndSwap(l, now); l = w.lastLive.Load() {
				}
				for f := w.firstLive.Load(); (f == 0 || f > now) && !w.firstLive.CompareAndSwap(f, now); f = w.firstLive.Load() {
				}
			}
			deadline, attempt, backoff = time.Now().Add(time.Minute), 0, 100*time.Millisecond
			continue
		}
		if w.closing.Load() || ctx.Err() != nil {
			return
		}
		if errors.Is(err, errShed) && time.Now().Add(c.wait).Before(deadline) {
			// Told to come back later, as an EventSource is: after the
			// retry: it was given, to the same address.
			w.retries.Add(1)
			w.note("retried: shed with retry:")
			if sleepCtx(ctx, c.wait) != nil {
				return
			}
			continue
		}
		if resume && errReason(err) == "connection refused" && attempt < 2*len(addrs) {
			// The dead node: a proxy would send this request to a survivor,
			// and send none there for a while (skipDown).
			w.markDown(addrs[ai])
			ai = (ai + 1) % len(addrs)
			continue
		}
		if time.Now().Add(backoff).After(deadline) || attempt >= 20 {
			w.failed.Add(1)
			w.note("failed: " + errReason(err))
			return
		}
		w.retries.Add(1)
		w.note("retried: " + errReason(err))
		time.Sleep(backoff)
		backoff = min(backoff*2, 2*time.Second)
	}
}

// stream is one attempt: dial, request, head, then events until the
// connection ends. live reports whether the snapshot arrived, or for a
// resume (which gets no snapshot when nothing was missed) the head.
func (w *sseWorker) stream(ctx context.Context, c *sseClientConn, addr string, src *net.TCPAddr, req []byte, resume bool, settle func()) (live bool, err error) {
	// No TCP keepalive: a browser's would not run on this machine, and
	// its four setsockopt calls per dial are CPU the survivor needs here.
	d := net.Dialer{LocalAddr: src, Timeout: 10 * time.Second, KeepAlive: -1, Control: noPortControl}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	c.nc = nc
	c.mu.Unlock()
	defer nc.Close()
	if w.closing.Load() {
		return false, errors.New("closing")
	}
	// Setup (head and snapshot) must be quick; a live stream has no
	// deadline, since idle is what is being measured.
	_ = nc.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := nc.Write(req); err != nil {
		return false, err
	}
	br := bufio.NewReaderSize(nc, 4096)
	line, err := br.ReadSlice('\n')
	if err != nil {
		return false, err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200")) {
		return false, fmt.Errorf("status %s", bytes.TrimSpace(bytes.TrimPrefix(line, []byte("HTTP/1.1 "))))
	}
	shed := false
	for {
		if line, err = br.ReadSlice('\n'); err != nil {
			return false, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break
		}
		// A stream the node cannot set up now is answered 200 with a
		// retry: and closed (web's writeStreamRetry), with Retry-After;
		// a live stream's head has none.
		shed = shed || bytes.HasPrefix(bytes.ToLower(line), []byte("retry-after:"))
	}
	if shed {
		for {
			if line, err = br.ReadSlice('\n'); err != nil {
				return false, errShed
			}
			if ms, ok := bytes.CutPrefix(line, []byte("retry: ")); ok {
				if v, err := strconv.Atoi(string(bytes.TrimSpace(ms))); err == nil {
					c.wait = time.Duration(v) * time.Millisecond
				}
			}
		}
	}
	goLive := func() {
		if !live {
			live = true
			_ = nc.SetDeadline(time.Time{})
			w.open.Add(1)
			settle()
		}
	}
	if resume {
		goLive()
	}
	var ps sseParse
	var long []byte
	for {
		if live && w.rehome.Load() {
			// Live: the rest of the stream is read by the shared epoll
			// readers, not by this goroutine (see livereader_linux.go).
			if handled, err := w.handOff(c, nc, br, &ps); handled {
				return live, err
			}
		}
		line, err = br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil {
			return live, err
		}
		if w.onLine(c, &ps, line) {
			goLive()
		}
	}
}

// report gathers every arrival of the phase by event.
func (w *sseWorker) report() map[int64]*sseSeqRecs {
	w.mu.Lock()
	conns := w.conns
	w.mu.Unlock()
	out := make(map[int64]*sseSeqRecs)
	for _, c := range conns {
		c.mu.Lock()
		for _, r := range c.recs {
			s := out[r.seq]
			if s == nil {
				s = &sseSeqRecs{Committed: r.committed}
				out[r.seq] = s
			}
			if r.committed < s.Committed {
				s.Committed = r.committed // floors stamp their own clocks: keep the earliest
			}
			s.Last = max(s.Last, r.at)
			s.Lat = append(s.Lat, int32((r.at-r.committed)/1e3))
			s.Fan = append(s.Fan, int32((r.at-r.server)/1e3))
		}
		c.mu.Unlock()
	}
	return out
}

// ssePreamble is what a realtime node writes first: its response head and
// the retry field (realtime.streamPreamble).
const ssePreamble = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n" +
	"X-Accel-Buffering: no\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\nretry: 3000\n\n"
