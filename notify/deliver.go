package notify

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// RunSenders delivers recorded notices with cfg.Workers goroutines until
// ctx ends. It shares nothing with the bid path: its own goroutines, its
// own database queries, no lock a bid takes.
func (s *Service) RunSenders(ctx context.Context) {
	var wg sync.WaitGroup
	gate := &outage{min: s.cfg.RetryMin, max: s.cfg.RetryMax}
	for range s.cfg.Workers {
		wg.Add(1)
		go func() { defer wg.Done(); s.worker(ctx, gate) }()
	}
	wg.Wait()
}

// outage is the shared state of a mail server that cannot be reached:
// every worker waits until the next try rather than each hammering it.
type outage struct {
	mu      sync.Mutex
	until   time.Time
	backoff time.Duration
	min     time.Duration
	max     time.Duration
}

// failed records a failed connection and returns how long to wait before
// trying again. It runs on the wall clock: it paces real connections.
func (o *outage) failed() time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.backoff = min(max(2*o.backoff, o.min), o.max)
	if t := time.Now().Add(o.backoff); t.After(o.until) {
		o.until = t
	}
	return time.Until(o.until)
}

// ok records a working connection.
func (o *outage) ok() (wasDown bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	wasDown = o.backoff > 0
	o.backoff, o.until = 0, time.Time{}
	return wasDown
}

func (o *outage) wait() time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return time.Until(o.until)
}

func (s *Service) worker(ctx context.Context, gate *outage) {
	var conn Conn
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	idle := time.NewTimer(0)
	defer idle.Stop()
	for {
		if d := gate.wait(); d > 0 {
			if !sleep(ctx, d) {
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		// While bids flow a worker sends about one notice per BusyPause:
		// claiming a full batch would only hold leases (and update rows)
		// it cannot use soon.
		n := s.cfg.Batch
		if s.bidsFlowing() {
			n = max(1, n/8)
		}
		rows, err := s.st.claim(ctx, n, s.cfg.Lease, s.now())
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("cannot claim notices", "err", err)
			}
			if !sleep(ctx, s.cfg.Poll) {
				return
			}
			continue
		}
		if len(rows) == 0 {
			if conn != nil {
				// Do not hold a connection open while idle.
				_ = conn.Close()
				conn = nil
			}
			idle.Reset(s.cfg.Poll)
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			case <-idle.C:
			}
			continue
		}
		conn = s.deliver(ctx, conn, rows, gate)
	}
}

// deliver sends claimed notices one by one on conn (opening one if nil)
// and records each outcome as soon as it is known, which keeps the window
// of a double send to one message. It returns the connection to reuse.
func (s *Service) deliver(ctx context.Context, conn Conn, rows []noticeRow, gate *outage) Conn {
	for i, row := range rows {
		if !s.yieldToBids(ctx) {
			s.releaseUnsent(rows[i:])
			return conn
		}
		if !s.leaseHolds(row) {
			// A slow batch outlived its lease: another worker may have
			// claimed the rest already, and sending them here would send
			// them twice. Give back those still ours.
			s.log.Warn("notice lease ran out before sending; the rest of the batch goes back", "notices", len(rows)-i)
			s.releaseUnsent(rows[i:])
			return conn
		}
		m, err := s.outgoing(ctx, row)
		if err != nil {
			s.settle(ctx, row, err)
			continue
		}
		if conn == nil {
			c, err := s.transport.Open(ctx)
			if err != nil {
				s.down(ctx, rows[i:], err, gate)
				return nil
			}
			if gate.ok() {
				s.log.Info("mail server reachable again")
			}
			conn = c
		}
		err = conn.Send(ctx, m)
		var ce *connError
		if errors.As(err, &ce) {
			_ = conn.Close()
			s.down(ctx, rows[i:], err, gate)
			return nil
		}
		s.settle(ctx, row, err)
	}
	return conn
}

// yieldToBids waits while bids flow on this node (bidsFlowing), at most
// BusyPause, and reports false if ctx ended meanwhile. Mail can wait a
// second; a bid in the last seconds of a lot cannot. It looks again every
// few milliseconds, so a burst of bids holds mail back only as long as it
// lasts (and Quiet after), and a storm that never ends still lets a
// notice through per BusyPause.
func (s *Service) yieldToBids(ctx context.Context) bool {
	if !s.bidsFlowing() {
		return ctx.Err() == nil
	}
	s.paused.Add(1)
	const look = 20 * time.Millisecond
	for waited := time.Duration(0); waited < s.cfg.BusyPause; waited += look {
		if !sleep(ctx, min(look, s.cfg.BusyPause-waited)) {
			return false
		}
		if !s.bidsFlowing() {
			break
		}
	}
	return ctx.Err() == nil
}

// leaseHolds reports whether a claimed notice is still safely this
// worker's: its lease has more than a quarter of its length left, which
// covers one send and the clocks of two nodes drifting apart.
func (s *Service) leaseHolds(r noticeRow) bool {
	return r.LeaseUntil == nil || s.now().Before(r.LeaseUntil.Add(-s.cfg.Lease/4))
}

// releaseUnsent gives back notices a stopping worker will not try, so
// another node sends them now rather than after the lease.
func (s *Service) releaseUnsent(rows []noticeRow) {
	for _, r := range rows {
		if err := s.st.release(context.Background(), r); err != nil {
			s.log.Warn("cannot give back an unsent notice; its lease will expire", "notice", r.ID, "err", err)
		}
	}
}

// down puts back notices that could not be tried because the server is
// unreachable, for when it may be back.
func (s *Service) down(ctx context.Context, rows []noticeRow, err error, gate *outage) {
	wait := gate.failed()
	next := s.now().Add(wait)
	s.log.Warn("mail server unreachable; notices wait", "err", err, "pending", len(rows), "retry_in", wait)
	for _, r := range rows {
		if e := s.st.retryLater(context.WithoutCancel(ctx), r.ID, next, "mail server unreachable: "+err.Error(), false); e != nil {
			s.log.Warn("cannot put a notice back; its lease will expire", "notice", r.ID, "err", e)
		}
	}
}

// settle records the outcome of one delivery attempt.
func (s *Service) settle(ctx context.Context, row noticeRow, err error) {
	// The outcome must be recorded even while shutting down: the server
	// has answered.
	ctx = context.WithoutCancel(ctx)
	now := s.now()
	var pe *permanentError
	switch {
	case err == nil:
		err = s.st.markSent(ctx, row.ID, now)
	case errors.As(err, &pe):
		s.log.Warn("notice refused for good", "notice", row.ID, "kind", row.Kind, "err", err)
		err = s.st.markFailed(ctx, row.ID, err.Error())
	case now.Sub(row.CreatedAt) > s.cfg.GiveUpAfter:
		s.log.Warn("notice given up", "notice", row.ID, "kind", row.Kind, "err", err)
		err = s.st.markFailed(ctx, row.ID, "gave up after "+s.cfg.GiveUpAfter.String()+": "+err.Error())
	default:
		// A 4xx for this message: back off for it alone.
		err = s.st.retryLater(ctx, row.ID, now.Add(s.retryDelay(row.Attempts)), err.Error(), true)
	}
	if err != nil {
		s.log.Warn("cannot record a notice's outcome", "notice", row.ID, "err", err)
	}
}

// retryDelay is the backoff after attempts tries, with jitter so that
// notices refused together do not all return together.
func (s *Service) retryDelay(attempts int) time.Duration {
	d := s.cfg.RetryMin
	for i := 1; i < attempts && d < s.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.RetryMax)
	return d/2 + rand.N(d/2+1)
}

// outgoing builds the email of a notice. A user who no longer exists, or
// a notice that cannot be rendered, is a permanent failure.
func (s *Service) outgoing(ctx context.Context, row noticeRow) (*outgoing, error) {
	u, err := s.users.UserByID(ctx, row.UserID)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeNotFound {
			return nil, &permanentError{"the user no longer exists"}
		}
		return nil, err
	}
	r, err := s.compose(ctx, row, u)
	if err != nil {
		var pe *permanentError
		if !errors.As(err, &pe) && domain.ErrorCode(err) == domain.CodeNotFound {
			err = &permanentError{"cannot render: " + err.Error()}
		}
		return nil, err
	}
	return &outgoing{NoticeID: row.ID, Kind: domain.NoticeKind(row.Kind), MessageID: messageID(row.UserID, row.Kind, row.SubjectKey, s.host),
		To: u.Email, ToName: u.Name, Rendered: r, Date: s.now()}, nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
