package stormbench

// The HTTP phases' load generator as a process of its own: this same
// binary re-executed as `gavel bench storm client`, at a lower priority
// (--client-nice), as the SSE benchmark runs its clients. In one process
// the 512 bidders and the server they measure shared the same 2 cores and
// the same Go scheduler; apart, the client's CPU is reported on its own,
// and the server is not starved by its own load.
//
// The coordinator talks to the client over its stdin and stdout, one JSON
// line per command and per reply: "setup" opens the bidders' connections,
// "phase" runs one storm and returns its counts, latencies and acknowledged
// bid ids. The client exits when its stdin closes.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
)

// clientCmd is one command to the client process.
type clientCmd struct {
	Op       string        `json:"op"` // "setup" or "phase"
	Addr     string        `json:"addr,omitempty"`
	Cookies  []string      `json:"cookies,omitempty"` // one per bidder
	Name     string        `json:"name,omitempty"`
	Auctions []int64       `json:"auctions,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
}

// clientReply is the client's answer to one command.
type clientReply struct {
	Err      string        `json:"err,omitempty"`
	Accepted int64         `json:"accepted"`
	Rejected int64         `json:"rejected"`
	Errors   int64         `json:"errors"`
	FirstErr string        `json:"first_err,omitempty"`
	Elapsed  time.Duration `json:"elapsed"`
	// LatencyUS is every bid's latency in microseconds, from before its
	// request was written to after its response was read.
	LatencyUS []int64 `json:"latency_us,omitempty"`
	Acked     []int64 `json:"acked,omitempty"`
	// CPU is the client process's user and system time during the phase.
	CPU time.Duration `json:"cpu"`
}

// clientMain is the client process: it answers commands on stdin until
// stdin closes.
func clientMain(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	dec := json.NewDecoder(bufio.NewReader(stdin))
	enc := json.NewEncoder(stdout)
	var conns []*bidConn
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()
	for {
		var cmd clientCmd
		if err := dec.Decode(&cmd); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		var reply clientReply
		switch cmd.Op {
		case "setup":
			for _, c := range conns {
				c.close()
			}
			conns = make([]*bidConn, len(cmd.Cookies))
			for i, cookie := range cmd.Cookies {
				conns[i] = &bidConn{addr: cmd.Addr, cookie: cookie}
			}
		case "phase":
			if len(conns) == 0 {
				reply.Err = "phase before setup"
				break
			}
			reply = clientPhase(ctx, conns, cmd)
		default:
			reply.Err = "unknown command " + strconv.Quote(cmd.Op)
		}
		if err := enc.Encode(reply); err != nil {
			return err
		}
	}
}

// clientPhase runs one storm from this process with every connection.
func clientPhase(ctx context.Context, conns []*bidConn, cmd clientCmd) clientReply {
	acked := &ackSet{}
	var firstErr errOnce
	cpu0 := selfCPU()
	r := runStorm(ctx, cmd.Name, len(conns), cmd.Duration, cmd.Auctions, acked.wrap(func(ctx context.Context, w int, auction, amount int64) (int64, bool, error) {
		id, ok, err := postBid(ctx, conns[w], auction, amount)
		firstErr.keep(err)
		return id, ok, err
	}))
	reply := clientReply{Accepted: r.accepted, Rejected: r.rejected, Errors: r.errors, FirstErr: firstErr.String(),
		Elapsed: r.elapsed, Acked: acked.ids, CPU: selfCPU() - cpu0, LatencyUS: make([]int64, len(r.latencies))}
	for i, l := range r.latencies {
		reply.LatencyUS[i] = l.Microseconds()
	}
	return reply
}

// postBid posts one bid on c and reads its verdict: the bid's id and true
// when accepted, false without an error when rejected as too low.
func postBid(ctx context.Context, c *bidConn, auction, amount int64) (int64, bool, error) {
	resp, err := c.post(ctx, auction, amount)
	if err != nil {
		return 0, false, err
	}
	switch resp.status {
	case http.StatusCreated:
		id, err := bidID(resp.body)
		return id, err == nil, err
	case http.StatusConflict:
		return 0, false, nil
	default:
		return 0, false, fmt.Errorf("%d: %s", resp.status, resp.body)
	}
}

// clientProc is the coordinator's handle on a client process.
type clientProc struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *json.Decoder
	nice int
}

// startClient starts exe with args (this binary as `bench storm client`)
// at the given nice value, in its own process group, killed if the
// coordinator dies.
func startClient(ctx context.Context, exe string, args []string, nice int, stderr io.Writer) (*clientProc, error) {
	cmd := benchkit.Command(ctx, nice, exe, args...)
	cmd.Stderr = stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &clientProc{cmd: cmd, in: in, out: json.NewDecoder(bufio.NewReader(out)), nice: nice}, nil
}

// call sends one command and reads its reply.
func (p *clientProc) call(cmd clientCmd) (clientReply, error) {
	if err := json.NewEncoder(p.in).Encode(cmd); err != nil {
		return clientReply{}, fmt.Errorf("storm client: %s: %w", cmd.Op, err)
	}
	var r clientReply
	if err := p.out.Decode(&r); err != nil {
		return r, fmt.Errorf("storm client: no reply to %s: %w", cmd.Op, err)
	}
	if r.Err != "" {
		return r, fmt.Errorf("storm client: %s", r.Err)
	}
	return r, nil
}

// stop closes the client's stdin, on which it exits, and waits for it.
func (p *clientProc) stop() {
	_ = p.in.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// selfCPU is this process's user plus system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// errOnce keeps the first error it is given, for the report.
type errOnce struct {
	once sync.Once
	text string
}

func (e *errOnce) keep(err error) {
	if err != nil {
		e.once.Do(func() { e.text = err.Error() })
	}
}

func (e *errOnce) String() string { return e.text }

// clientExe is the binary the coordinator starts as its client and the
// arguments that make it one: this binary, as `gavel bench storm client`.
func clientExe() (string, []string, error) {
	exe, err := os.Executable()
	return exe, []string{"bench", "storm", "client"}, err
}
