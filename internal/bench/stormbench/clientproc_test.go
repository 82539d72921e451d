package stormbench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMain makes the test binary the storm's client process when the
// coordinator under test starts it (clientCommand points here).
func TestMain(m *testing.M) {
	if os.Getenv("STORMBENCH_TEST_CLIENT") == "1" {
		if err := clientMain(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeNode answers bid POSTs as a node would: 201 with a receipt for an
// amount above the auction's last, 409 otherwise, and counts what it saw.
type fakeNode struct {
	ln      net.Listener
	mu      sync.Mutex
	highest map[int64]int64
	nextID  atomic.Int64
	cookies sync.Map // cookie header value seen
	posts   atomic.Int64
	// closeEvery closes the connection after every closeEvery-th answer
	// (Connection: close), 0 never.
	closeEvery int64
}

func newFakeNode(t *testing.T) *fakeNode {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNode{ln: ln, highest: map[int64]int64{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return f
}

func (f *fakeNode) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		// POST /api/v1/auctions/7/bids HTTP/1.1
		parts := strings.Fields(line)
		if len(parts) != 3 || parts[0] != "POST" {
			return
		}
		auction, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(parts[1], "/api/v1/auctions/"), "/bids"), 10, 64)
		length := 0
		for {
			h, err := r.ReadString('\n')
			if err != nil {
				return
			}
			h = strings.TrimRight(h, "\r\n")
			if h == "" {
				break
			}
			name, value, _ := strings.Cut(h, ": ")
			switch strings.ToLower(name) {
			case "content-length":
				length, _ = strconv.Atoi(value)
			case "cookie":
				f.cookies.Store(value, true)
			}
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		amount, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(string(body), `{"amount":`), "}"), 10, 64)
		n := f.posts.Add(1)
		f.mu.Lock()
		ok := amount > f.highest[auction]
		if ok {
			f.highest[auction] = amount
		}
		f.mu.Unlock()
		status, text, answer := 409, "Conflict", `{"type":"/problems/conflict","status":409}`
		if ok {
			status, text, answer = 201, "Created", fmt.Sprintf(`{"bid_id":%d,"auction_id":%d,"amount":%d}`, f.nextID.Add(1), auction, amount)
		}
		closing := f.closeEvery > 0 && n%f.closeEvery == 0
		conn := ""
		if closing {
			conn = "Connection: close\r\n"
		}
		fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nServer: fake\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s", status, text, conn, len(answer), answer)
		if closing {
			return
		}
	}
}

// TestClientProcess runs the HTTP bidders in a process of their own, as
// the storm does, against a fake node: every bidder's cookie reaches the
// node, every answer is counted as accepted or rejected, each bid has a
// latency, the acknowledged ids come back, and the client's CPU is
// measured apart.
func TestClientProcess(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("STORMBENCH_TEST_CLIENT", "1")
	prev := clientCommand
	clientCommand = func() (string, []string, error) { return exe, nil, nil }
	t.Cleanup(func() { clientCommand = prev })

	node := newFakeNode(t)
	node.closeEvery = 97 // the client must redial a connection the node closed
	cookies := []string{"gavel_session=a", "gavel_session=b", "gavel_session=c", "gavel_session=d"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	phase, closeFn, where, err := httpBidders(ctx, httpClientOpts{nice: 5}, node.ln.Addr().String(), cookies)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if where != "client process (nice 5)" {
		t.Errorf("where = %q", where)
	}
	for round := range 2 { // two phases on the same connections
		r, acked, cpu, err := phase("test phase", 300*time.Millisecond, []int64{7, 8})
		if err != nil {
			t.Fatal(err)
		}
		judged := r.accepted + r.rejected
		if judged == 0 || r.errors != 0 {
			t.Fatalf("round %d: accepted %d rejected %d errors %d (%s)", round, r.accepted, r.rejected, r.errors, r.name)
		}
		if int64(len(r.latencies)) != judged {
			t.Errorf("round %d: %d latencies for %d bids", round, len(r.latencies), judged)
		}
		if int64(len(acked.ids)) != r.accepted {
			t.Errorf("round %d: %d acknowledged ids for %d accepted", round, len(acked.ids), r.accepted)
		}
		if cpu <= 0 {
			t.Errorf("round %d: client CPU %v, want it measured", round, cpu)
		}
	}
	for _, c := range cookies {
		if _, ok := node.cookies.Load(c); !ok {
			t.Errorf("cookie %q never reached the node", c)
		}
	}
}
