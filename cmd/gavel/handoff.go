package main

import (
	"net"
	"sync"
)

// handoff passes one listening socket from server to server: a node serves
// its probes with a start-up server while it waits for its dependencies,
// then the real server takes over the same socket, and no connection is
// refused or dropped in between (one accepted while no server is taking
// them waits for the next).
type handoff struct {
	ln   net.Listener
	mu   sync.Mutex
	cond *sync.Cond
	cur  *phase
	done bool // the last phase closed, and the socket with it
}

type accepted struct {
	conn net.Conn
	err  error
}

func newHandoff(ln net.Listener) *handoff {
	h := &handoff{ln: ln}
	h.cond = sync.NewCond(&h.mu)
	go h.run()
	return h
}

// next returns the listener of the next server, replacing the current
// one's. Closing the last one (final) closes the socket.
func (h *handoff) next(final bool) net.Listener {
	p := &phase{h: h, ch: make(chan accepted), closed: make(chan struct{}), final: final}
	h.mu.Lock()
	h.cur = p
	h.mu.Unlock()
	h.cond.Broadcast()
	return p
}

// run accepts connections and gives each to the current phase's server.
func (h *handoff) run() {
	for {
		conn, err := h.ln.Accept()
		for {
			h.mu.Lock()
			for h.cur == nil && !h.done {
				h.cond.Wait()
			}
			p := h.cur
			h.mu.Unlock()
			if p == nil {
				if conn != nil {
					_ = conn.Close()
				}
				return
			}
			select {
			case p.ch <- accepted{conn, err}:
			case <-p.closed:
				continue // that server stopped meanwhile: the next one gets it
			}
			break
		}
		// A temporary error (too many open files) is the server's to wait
		// out, as fasthttp does; any other means the socket is closed or
		// broken, and the server has been told.
		if te, ok := err.(interface{ Temporary() bool }); err != nil && (!ok || !te.Temporary()) {
			return
		}
	}
}

// phase is one server's view of the socket.
type phase struct {
	h      *handoff
	ch     chan accepted
	closed chan struct{}
	once   sync.Once
	final  bool
}

func (p *phase) Accept() (net.Conn, error) {
	select {
	case a := <-p.ch:
		return a.conn, a.err
	case <-p.closed:
		return nil, net.ErrClosed
	}
}

// Close stops this server's accepting; the socket stays open for the next
// one unless this is the last.
func (p *phase) Close() error {
	var err error
	p.once.Do(func() {
		close(p.closed)
		p.h.mu.Lock()
		if p.h.cur == p {
			p.h.cur = nil
		}
		if p.final {
			p.h.done = true
			err = p.h.ln.Close()
		}
		p.h.mu.Unlock()
		p.h.cond.Broadcast()
	})
	return err
}

func (p *phase) Addr() net.Addr { return p.h.ln.Addr() }
