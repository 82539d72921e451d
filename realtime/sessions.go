package realtime

import (
	"encoding/json"
	"hash/maphash"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gavel-auctions/gavel/domain"
)

// sessionShards indexes open streams by the hash of the session they were
// opened with, so that a logout (domain.ControlLogoutSubject, published by
// whichever API node logged the session out) closes them on every node.
const sessionShards = 16

// endedMemory is how long a node remembers an ended session, to close the
// streams of it that were being set up when the logout arrived.
const endedMemory = time.Minute

type sessionShard struct {
	mu     sync.Mutex
	m      map[string][]*conn
	ended  map[string]time.Time // session → until when its logout is remembered
	guests map[string]int       // guest session → admitted streams, for its cap
}

// admitGuest counts one more stream of a guest session (no user, so the
// per-user cap cannot apply) and reports false past limit.
func (s *sessionShard) admitGuest(session string, limit int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.guests == nil {
		s.guests = map[string]int{}
	}
	if s.guests[session] >= limit {
		return false
	}
	s.guests[session]++
	return true
}

// leaveGuest returns a guest admission.
func (s *sessionShard) leaveGuest(session string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.guests[session]--; s.guests[session] <= 0 {
		delete(s.guests, session)
	}
}

var sessionSeed = maphash.MakeSeed()

func (h *Hub) sessionShard(session string) *sessionShard {
	return &h.sessions[maphash.String(sessionSeed, session)%sessionShards]
}

// register lists c under its session, and reports false if that session
// ended meanwhile: the caller closes c.
func (s *sessionShard) register(c *conn, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if until, ok := s.ended[c.session]; ok && now.Before(until) {
		return false
	}
	c.mu.Lock()
	released := c.state == stateReleased
	c.mu.Unlock()
	if !released {
		if s.m == nil {
			s.m = map[string][]*conn{}
		}
		s.m[c.session] = append(s.m[c.session], c)
	}
	return true
}

// leave drops c from its session's list.
func (s *sessionShard) leave(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.m[c.session]
	for i, x := range list {
		if x == c {
			list[i] = list[len(list)-1]
			list[len(list)-1] = nil
			list = list[:len(list)-1]
			break
		}
	}
	if len(list) == 0 {
		delete(s.m, c.session)
	} else {
		s.m[c.session] = list
	}
}

// end remembers that session ended and returns its streams to close.
func (s *sessionShard) end(session string, now time.Time) []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended == nil {
		s.ended = map[string]time.Time{}
	}
	for k, until := range s.ended {
		if !now.Before(until) {
			delete(s.ended, k)
		}
	}
	s.ended[session] = now.Add(endedMemory)
	return append([]*conn(nil), s.m[session]...)
}

// isEnded reports whether session's logout is remembered at now.
func (s *sessionShard) isEnded(session string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.ended[session]
	return ok && now.Before(until)
}

// onLogout closes the streams of a session that was logged out, on this
// node, at once.
func (h *Hub) onLogout(m *nats.Msg) {
	var ev domain.SessionEnded
	if err := json.Unmarshal(m.Data, &ev); err != nil || ev.Session == "" {
		h.m.badMessages.Inc()
		return
	}
	for _, c := range h.sessionShard(ev.Session).end(ev.Session, h.cfg.Now()) {
		h.closeConn(c)
	}
	h.m.logouts.Inc()
}
