package ssebench

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The reconnect storm's clients stand for 16,000 browsers on other
// machines, yet here they share the survivor's two cores. A goroutine per
// live stream costs two read(2) calls per event (the data, then EAGAIN),
// a netpoller wake-up and a goroutine switch; the survivor writes a price
// change to every stream five times a second, so that was most of the
// clients' CPU. Once a stream is live, handOff gives its socket to one of
// a few epoll readers instead: one epoll_wait for many ready sockets, one
// read(2) per ready socket, the same per-line parsing (onLine: every
// event's id still checked for gaps and duplicates). The stream's
// goroutine waits, costing no CPU, until its reader sees the end, then
// moves the stream as an EventSource would (run).

// liveShards is how many epoll readers a client process runs.
const liveShards = 2

// liveLowat is the SO_RCVLOWAT of a live stream's socket: its kernel
// reports it readable (and wakes its epoll reader) once this much has
// gathered, or at its end, not on every event. On loopback the wake-up
// of the reader is done by the sender: each send(2) of the survivor's
// fan-out woke a client's epoll, a cost a browser's own machine pays, not
// the node's (perf: ~14% of each send). The events wait in the socket
// instead and are read in batches: every byte still goes through the
// same parsing (onLine: every id checked for gaps and duplicates), and
// sweep reads what is left whenever the bench asks how many streams have
// an event. The client's own latency is not what the storm measures
// (it times set-ups, which are read before handOff).
const liveLowat = 8 << 10

// liveGather is how long a reader lets events gather after a wake-up
// that found few ready sockets. A node writes one price change to its
// streams one after another, so a reader fast enough to keep up would
// otherwise pay an epoll_wait(2) per event; this makes it one per batch,
// for at most this much added lateness (which the storm does not measure:
// it counts each stream's events, and times set-ups before handOff).
const liveGather = 2 * time.Millisecond

// liveStream is one stream an epoll reader holds.
type liveStream struct {
	w       *sseWorker
	c       *sseClientConn
	fd      int
	ps      sseParse
	pending []byte     // a line not yet complete
	done    chan error // the stream's end (io.EOF or the read's error)
}

// liveReader is one epoll instance and the streams registered with it.
type liveReader struct {
	epfd int
	mu   sync.Mutex // guards fds
	fds  map[int]*liveStream
	// rd is held while streams are read: by run for each batch of ready
	// sockets, by sweep for all of them (feed is not reentrant).
	rd sync.Mutex
}

var (
	liveOnce    sync.Once
	liveStarted atomic.Bool // set once liveOnce has run
	liveReaders []*liveReader
	liveErr     error
)

// startLiveReaders starts the process's epoll readers, once.
func startLiveReaders() ([]*liveReader, error) {
	liveOnce.Do(func() {
		for range liveShards {
			epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
			if err != nil {
				liveErr = err
				return
			}
			r := &liveReader{epfd: epfd, fds: make(map[int]*liveStream)}
			liveReaders = append(liveReaders, r)
			go r.run()
		}
	})
	liveStarted.Store(true)
	return liveReaders, liveErr
}

// handOff gives a live stream's socket, and what br has read of it but
// not yet parsed, to an epoll reader, and waits for the stream's end.
// handled is false when the socket could not be handed over; the caller
// then reads it itself.
func (w *sseWorker) handOff(c *sseClientConn, nc net.Conn, br *bufio.Reader, ps *sseParse) (handled bool, err error) {
	readers, err := startLiveReaders()
	if err != nil {
		return false, nil
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false, nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false, nil
	}
	fd := -1
	var derr error
	if err := raw.Control(func(f uintptr) { fd, derr = dupCloexec(int(f)) }); err != nil || derr != nil {
		return false, nil
	}
	// Best effort: without it the reader is woken per event, as before.
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, liveLowat)
	ls := &liveStream{w: w, c: c, fd: fd, ps: *ps, done: make(chan error, 1)}
	buffered, _ := br.Peek(br.Buffered())
	ls.feed(buffered)
	// The duplicate keeps the connection open; closing the original only
	// takes it out of Go's netpoller, which must not see its events.
	c.mu.Lock()
	c.nc, c.fd = nil, fd
	c.mu.Unlock()
	_ = nc.Close()
	r := readers[fd%len(readers)]
	r.mu.Lock()
	r.fds[fd] = ls
	r.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
	if err := syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		r.rd.Lock() // a sweep may be reading ls: end it once
		r.mu.Lock()
		held := r.fds[fd] == ls
		r.mu.Unlock()
		if held {
			r.end(ls, err)
		}
		r.rd.Unlock()
	} else if w.closing.Load() {
		// closeAll ran before c.fd was set: end it as closeAll would.
		_ = syscall.Shutdown(fd, syscall.SHUT_RDWR)
	}
	return true, <-ls.done
}

func dupCloexec(fd int) (int, error) {
	nfd, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(nfd), nil
}

// run reads every ready socket once per wake-up (level-triggered: what
// one read leaves is reported again).
func (r *liveReader) run() {
	evs := make([]syscall.EpollEvent, 256)
	buf := make([]byte, 64<<10)
	for {
		n, err := syscall.EpollWait(r.epfd, evs, -1)
		if err == nil && n < len(evs)/4 {
			time.Sleep(liveGather)
			n, err = syscall.EpollWait(r.epfd, evs, 0)
		}
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return
		}
		r.rd.Lock()
		for _, ev := range evs[:n] {
			fd := int(ev.Fd)
			r.mu.Lock()
			ls := r.fds[fd]
			r.mu.Unlock()
			if ls != nil {
				r.read(ls, buf)
			}
		}
		r.rd.Unlock()
	}
}

// read reads ls once; it reports false when the stream has nothing more
// to give now (EAGAIN) or has ended. The caller holds r.rd.
func (r *liveReader) read(ls *liveStream, buf []byte) bool {
	m, err := syscall.Read(ls.fd, buf)
	switch {
	case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR):
		return false
	case err != nil:
		r.end(ls, err)
		return false
	case m == 0:
		r.end(ls, io.EOF)
		return false
	}
	ls.feed(buf[:m])
	return m == len(buf)
}

// sweep reads every stream the reader holds until its socket is empty:
// what SO_RCVLOWAT left waiting is parsed before the bench counts.
func (r *liveReader) sweep(buf []byte) {
	r.rd.Lock()
	defer r.rd.Unlock()
	r.mu.Lock()
	all := make([]*liveStream, 0, len(r.fds))
	for _, ls := range r.fds {
		all = append(all, ls)
	}
	r.mu.Unlock()
	for _, ls := range all {
		r.mu.Lock()
		held := r.fds[ls.fd] == ls
		r.mu.Unlock()
		for held && r.read(ls, buf) {
		}
	}
}

// sweepLive sweeps every epoll reader of the process (none: nothing to do).
func sweepLive() {
	if !liveStarted.Load() {
		return
	}
	readers, _ := startLiveReaders()
	buf := make([]byte, 64<<10)
	for _, r := range readers {
		r.sweep(buf)
	}
}

// end closes a stream's socket (which also takes it out of the epoll
// set) and wakes its goroutine.
func (r *liveReader) end(ls *liveStream, err error) {
	r.mu.Lock()
	delete(r.fds, ls.fd)
	r.mu.Unlock()
	// c.fd goes before the close: closeAll must not shut down a reused fd.
	ls.c.mu.Lock()
	ls.c.fd = -1
	ls.c.mu.Unlock()
	_ = syscall.Close(ls.fd)
	ls.done <- err
}

// feed parses b, the next bytes of the stream, line by line; a line cut
// by the read waits in pending for the rest.
func (ls *liveStream) feed(b []byte) {
	if len(ls.pending) > 0 {
		ls.pending = append(ls.pending, b...)
		b = ls.pending
	}
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		ls.w.onLine(ls.c, &ls.ps, b[:i+1])
		b = b[i+1:]
	}
	ls.pending = append(ls.pending[:0], b...)
}
