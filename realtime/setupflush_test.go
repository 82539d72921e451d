package realtime

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gavel-auctions/gavel/domain"
)

// TestSetupWritesItsFirstBytes: a new stream's head and its snapshot or
// resume frames are written by its set-up, in one write, not left for a
// writer goroutine (here none runs: the hub is never Run). Through the
// writer they took two sends, and in a reconnect storm the head waited
// behind the writer's fan-out of each price change to every other stream.
func TestSetupWritesItsFirstBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, last string
		want       []string // in order, after the head
	}{
		{"fresh", "", []string{"id: 7:3\nevent: snapshot\n"}},
		{"resumed", "7:1", []string{"id: 7:2\n", "id: 7:3\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.seed(7, 3)
			h, err := New(Config{Node: "n-" + tc.name}, e.conn("hub"), e.log, nil, prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = h.Shutdown(ctx)
			})
			serve, err := h.Open(domain.StreamSpec{AuctionIDs: []int64{7}, LastEventID: tc.last})
			if err != nil {
				t.Fatal(err)
			}
			cli, srv := tcpPair(t, 0)
			defer cli.Close()
			done := make(chan struct{})
			go func() { serve(srv); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("set-up did not return")
			}
			// Everything the set-up wrote is in the socket by now.
			_ = cli.SetReadDeadline(time.Now().Add(2 * time.Second))
			var got []byte
			buf := make([]byte, 16<<10)
			for !bytes.Contains(got, []byte(tc.want[len(tc.want)-1])) {
				n, err := cli.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF || err != nil {
					t.Fatalf("read %q, then %v; want the head and %q without a writer", got, err, tc.want)
				}
			}
			if !bytes.HasPrefix(got, []byte("HTTP/1.1 200 OK\r\n")) {
				t.Fatalf("stream begins %q, want the response head", got)
			}
			rest := got
			for _, w := range tc.want {
				i := bytes.Index(rest, []byte(w))
				if i < 0 {
					t.Fatalf("stream %q lacks %q (in order)", got, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

// TestSetupLongReplayHandedToWriter: a resume longer than the queue is
// handed to the writer mid-set-up, which drains it as the client reads;
// set-up alone would wait for room that nobody makes, and the stream
// would end as a slow consumer.
func TestSetupLongReplayHandedToWriter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 40
	e.seed(7, n)
	h, _ := e.hub(Config{QueueLen: 8, WriteTimeout: time.Second})
	c := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{7}, LastEventID: "7:1"})
	for s := 2; s <= n; s++ {
		c.expect(domain.EventExtended, "7:"+strconv.Itoa(s))
	}
	c.quiet(200 * time.Millisecond)
}

// TestSetupFailureStillSendsHead: a stream whose set-up fails (the Log is
// down) gets its head, with its retry:, before the close, so that an
// EventSource retries after the jittered delay rather than at once.
func TestSetupFailureStillSendsHead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seed(7, 3)
	h, _ := e.hub(Config{})
	e.log.setFail(errors.New("log down"))
	serve, err := h.Open(domain.StreamSpec{AuctionIDs: []int64{7}})
	if err != nil {
		t.Fatal(err)
	}
	cli, srv := tcpPair(t, 0)
	defer cli.Close()
	go serve(srv)
	_ = cli.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(cli)
	if err != nil {
		t.Fatalf("read %q: %v; want the head, then the close", got, err)
	}
	if !bytes.HasPrefix(got, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.Contains(got, []byte("\r\n\r\nretry: ")) {
		t.Fatalf("a failed set-up wrote %q; want the head with its retry: before the close", got)
	}
}
