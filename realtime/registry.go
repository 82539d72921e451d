package realtime

import (
	"net"
	"sync/atomic"

	"github.com/gavel-auctions/gavel/domain"
)

// Open admits a stream and returns serve, which takes over the hijacked
// connection. It satisfies web.Streams. err is a *domain.Error:
// rate_limited (this user's cap), unavailable (this node's cap or
// shutdown), invalid, unauthorized or forbidden (a spec the web layer
// should not have built). Guests (UserID 0 with a Session) count against
// their session's cap, as users do against theirs; a stream with neither
// only against the node's. serve writes the response head and returns once
// the stream is live (after its snapshot or replay); serve(nil) returns
// the admission when the hijack failed.
func (h *Hub) Open(spec domain.StreamSpec) (serve func(net.Conn), err error) {
	if h.closing.Load() {
		return nil, &domain.Error{Code: domain.CodeUnavailable, Message: "This server is restarting. Please try again."}
	}
	chans, err := channelsFor(spec)
	if err != nil {
		return nil, err
	}
	if len(spec.SaleIDs) > 0 && h.sales == nil {
		return nil, &domain.Error{Code: domain.CodeUnavailable, Message: "Live catalogues are not available on this server."}
	}
	if h.conns.Add(1) > int64(h.cfg.MaxConns) {
		h.conns.Add(-1)
		h.m.rejected.WithLabelValues("node").Inc()
		return nil, &domain.Error{Code: domain.CodeUnavailable, Message: "This server is full. Please try again shortly."}
	}
	if spec.UserID != 0 && h.userShard(spec.UserID).suspended(spec.UserID, h.cfg.Now()) {
		h.conns.Add(-1)
		return nil, domain.ErrSuspended
	}
	if spec.Session != "" && h.sessionShard(spec.Session).isEnded(spec.Session, h.cfg.Now()) {
		h.conns.Add(-1)
		return nil, errSessionEnded
	}
	guest := spec.UserID == 0 && spec.Session != ""
	if guest && !h.sessionShard(spec.Session).admitGuest(spec.Session, h.cfg.MaxConnsPerUser) {
		h.conns.Add(-1)
		h.m.rejected.WithLabelValues("session").Inc()
		return nil, errTooManyStreams
	}
	if spec.UserID != 0 && !h.userShard(spec.UserID).admit(spec.UserID, h.cfg.MaxConnsPerUser) {
		h.conns.Add(-1)
		h.m.rejected.WithLabelValues("user").Inc()
		return nil, errTooManyStreams
	}
	var used atomic.Bool
	return func(nc net.Conn) {
		if !used.CompareAndSwap(false, true) {
			if nc != nil {
				_ = nc.Close()
			}
			return
		}
		if nc == nil {
			h.unadmit(spec.UserID, spec.Session)
			return
		}
		h.serve(spec, chans, nc)
	}, nil
}

// errSessionEnded refuses a stream of a session that was logged out.
var errSessionEnded = &domain.Error{Code: domain.CodeUnauthorized, Message: "Your session has ended. Please log in again."}

// errTooManyStreams refuses a stream past the per-user (or, for a guest,
// per-session) cap.
var errTooManyStreams = &domain.Error{Code: domain.CodeRateLimited, Message: "Too many live streams are open. Close a tab and try again."}

// unadmit returns an admission that never became a stream.
func (h *Hub) unadmit(user int64, session string) {
	if user != 0 {
		h.userShard(user).leave(user, nil)
	} else if session != "" {
		h.sessionShard(session).leaveGuest(session)
	}
	h.conns.Add(-1)
}

// detach undoes everything serve did for c: topics, user registry,
// admission. The writer calls it once, when it releases c.
func (h *Hub) detach(c *conn) {
	if c.watchCounts {
		h.saleCounters.Add(-1)
	}
	for i := range c.chans {
		if t := c.chans[i].t; t != nil {
			t.detach(c, i)
			h.release(t)
		}
	}
	h.unadmitConn(c)
}

func (h *Hub) unadmitConn(c *conn) {
	if c.user != 0 {
		h.userShard(c.user).leave(c.user, c)
	}
	if c.session != "" {
		h.sessionShard(c.session).leave(c)
		if c.user == 0 {
			h.sessionShard(c.session).leaveGuest(c.session)
		}
	}
	h.conns.Add(-1)
}

// slowConsumer counts and closes a connection that fell behind.
func (h *Hub) slowConsumer(c *conn) {
	h.slowConsumers.Add(1)
	c.w.requestClose(c)
}

// closeConn asks c's writer to close it.
func (h *Hub) closeConn(c *conn) {
	c.mu.Lock()
	if c.state == stateOpen {
		c.state = stateClosing
		c.q, c.hold = nil, nil
	}
	c.mu.Unlock()
	c.w.requestClose(c)
}
