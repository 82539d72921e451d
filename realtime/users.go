package realtime

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gavel-auctions/gavel/domain"
)

// onControl handles control events; a suspension closes the user's streams
// on this node at once (the web layer refuses their reconnects).
func (h *Hub) onControl(m *nats.Msg) {
	if m.Subject == domain.ControlLogoutSubject {
		h.onLogout(m)
		return
	}
	var ev domain.Event
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		h.m.badMessages.Inc()
		return
	}
	if ev.Type != domain.EventSuspended || ev.UserID == 0 {
		return
	}
	for _, c := range h.userShard(ev.UserID).suspend(ev.UserID, h.cfg.Now()) {
		h.closeConn(c)
	}
	h.m.suspensions.Inc()
}

// suspendedMemory is how long a node remembers a suspension, to refuse and
// close the user's streams that were being set up when it arrived, or that
// the web layer admitted from a user record cached before it.
const suspendedMemory = time.Minute

// userShard returns the registry shard of a user.
func (h *Hub) userShard(user int64) *userShard {
	return &h.users[uint64(user)%userShards]
}

// userShard counts each user's streams for the per-user cap and lists them
// for suspensions.
type userShard struct {
	mu    sync.Mutex
	m     map[int64]*userConns
	until map[int64]time.Time // user → until when a suspension is remembered
}

type userConns struct {
	n     int     // admitted, including streams not yet registered
	conns []*conn // registered streams
}

func (s *userShard) admit(user int64, limit int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.m[user]
	if u == nil {
		u = &userConns{}
		s.m[user] = u
	}
	if u.n >= limit {
		return false
	}
	u.n++
	return true
}

// register lists c for suspensions, and reports false if its user was
// suspended meanwhile: the caller closes it. c may already have been
// released (its client left at once); its release then ran leave first,
// and c must not be listed. Both run under s.mu, so checking c's state
// here is enough.
func (s *userShard) register(c *conn, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if until, ok := s.until[c.user]; ok && now.Before(until) {
		return false
	}
	c.mu.Lock()
	released := c.state == stateReleased
	c.mu.Unlock()
	if u := s.m[c.user]; u != nil && !released {
		u.conns = append(u.conns, c)
	}
	return true
}

// suspend remembers a suspension and returns the user's registered streams
// to close. Under s.mu, so a stream registers either before (and is
// returned) or after (and is refused).
func (s *userShard) suspend(user int64, now time.Time) []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.until == nil {
		s.until = map[int64]time.Time{}
	}
	for u, until := range s.until {
		if !now.Before(until) {
			delete(s.until, u)
		}
	}
	s.until[user] = now.Add(suspendedMemory)
	if u := s.m[user]; u != nil {
		return append([]*conn(nil), u.conns...)
	}
	return nil
}

// suspended reports whether user's suspension is remembered at now.
func (s *userShard) suspended(user int64, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.until[user]
	return ok && now.Before(until)
}

// leave drops one admission and, when c is not nil, its registration.
func (s *userShard) leave(user int64, c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.m[user]
	if u == nil {
		return
	}
	u.n--
	for i, x := range u.conns {
		if x == c {
			u.conns[i] = u.conns[len(u.conns)-1]
			u.conns[len(u.conns)-1] = nil
			u.conns = u.conns[:len(u.conns)-1]
			break
		}
	}
	if u.n <= 0 {
		delete(s.m, user)
	}
}

func (s *userShard) conns(user int64) []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.m[user]; u != nil {
		return append([]*conn(nil), u.conns...)
	}
	return nil
}
