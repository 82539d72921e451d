package ssebench

// The raw write floor: the same sockets, one pre-encoded frame each.

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
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// floorFrame encodes an event shaped like a realtime node's price frame
// for one auction, stamped now.
func floorFrame(typ domain.EventType, seq int64, now time.Time) []byte {
	ends := now.Add(time.Hour).Truncate(time.Second).UTC()
	ev := domain.Event{ID: domain.MakeID(domain.AuctionChannel(1), seq), Type: typ, AuctionID: 1, Seq: seq,
		Currency: "EUR", Status: domain.StatusOpen, StartPrice: 100, CurrentPrice: 100 + seq*10, MinNextBid: 110 + seq*10,
		BidCount: int(seq), Leader: "Bidder 1", EndsAt: ends, BidID: seq, BidAmount: 100 + seq*10, Bidder: "Bidder 1",
		CommittedAt: now.UTC(), ServerTime: now.UTC()}
	data, _ := json.Marshal(ev)
	return fmt.Appendf(nil, "id: 1:%d\nevent: %s\ndata: %s\n\n", seq, typ, data)
}

// sseFloorMain is `gavel bench sse floor --addr A`: the raw write floor. It
// answers every request with the stream preamble and a snapshot, then, on
// each fire command, writes one pre-encoded frame to every socket with one
// write(2) each, as fast as it can.
func sseFloorMain(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench sse floor", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "where to listen")
	life := fs.Duration("max-life", time.Hour, "exit after this long whatever happens")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *life)
	defer cancel()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	f := &floorServer{}
	go f.accept(ctx, ln)
	defer f.closeAll()
	defer ln.Close()
	return sseChildIO(ctx, os.Stdin, stdout, f.handle)
}

type floorServer struct {
	mu    sync.Mutex
	conns []floorConn
}

type floorConn struct {
	nc net.Conn
	rc syscall.RawConn
}

func (f *floorServer) accept(ctx context.Context, ln net.Listener) {
	for ctx.Err() == nil {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and friends: wait for room
			continue
		}
		go f.handshake(nc)
	}
}

// handshake reads the request head, writes the preamble and a snapshot,
// and keeps the socket; it holds no goroutine afterwards.
func (f *floorServer) handshake(nc net.Conn) {
	_ = nc.SetDeadline(time.Now().Add(15 * time.Second))
	br := bufio.NewReaderSize(nc, 1024)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			_ = nc.Close()
			return
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break
		}
	}
	head := append([]byte(ssePreamble), floorFrame(domain.EventSnapshot, 0, time.Now())...)
	if _, err := nc.Write(head); err != nil {
		_ = nc.Close()
		return
	}
	_ = nc.SetDeadline(time.Time{})
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		_ = nc.Close()
		return
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		_ = nc.Close()
		return
	}
	f.mu.Lock()
	f.conns = append(f.conns, floorConn{nc: nc, rc: rc})
	f.mu.Unlock()
}

func (f *floorServer) closeAll() {
	f.mu.Lock()
	conns := f.conns
	f.conns = nil
	f.mu.Unlock()
	for _, c := range conns {
		_ = c.nc.Close()
	}
}

func (f *floorServer) handle(_ context.Context, cmd sseCmd) sseReply {
	f.mu.Lock()
	conns := f.conns
	f.mu.Unlock()
	switch cmd.Op {
	case "status":
		return sseReply{Open: int64(len(conns))}
	case "close":
		f.closeAll()
		return sseReply{}
	case "fire":
		// One tight loop per core over its share of the sockets, as many
		// as a node has shared writers.
		start := time.Now()
		frame := floorFrame(domain.EventPrice, cmd.Seq, start)
		var short atomic.Int64
		var wg sync.WaitGroup
		loops := runtime.GOMAXPROCS(0)
		for k := range loops {
			wg.Go(func() {
				var n int64
				for _, c := range conns[k*len(conns)/loops : (k+1)*len(conns)/loops] {
					_ = c.rc.Write(func(fd uintptr) bool {
						// One non-blocking attempt, as a shared writer makes.
						if w, err := syscall.Write(int(fd), frame); err != nil || w < len(frame) {
							n++
						}
						return true
					})
				}
				short.Add(n)
			})
		}
		wg.Wait()
		return sseReply{Open: int64(len(conns)), Took: time.Since(start), WouldBlock: short.Load()}
	}
	return sseReply{Err: "unknown op " + cmd.Op}
}
