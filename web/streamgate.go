package web

import (
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/gavel-auctions/gavel/domain"
)

// Stream set-ups in flight are bounded per node (#18 point 2). A burst of
// thousands of connections would otherwise read thousands of sessions and
// users at once, each request's goroutine growing its stack and holding
// its reads' garbage at the same moment, and the process keeps that peak
// long after the burst. A set-up holds a slot from before its session is
// read until its stream is live (the hijacked serve returns) or refused;
// the others wait their turn, at most streamSetupWait.

// DefaultStreamSetups is Config.StreamSetups's default: enough to keep
// the batched session, user and snapshot reads full, far fewer than a
// burst's connections.
const DefaultStreamSetups = 256

// streamSetupWait bounds a set-up's wait for a slot. Waiting costs the
// node no CPU, and the slots go round in well under a second, so in a
// reconnect storm a set-up waits its turn rather than come back later;
// past this the node is overloaded and sheds it (errSetupsBusy).
const streamSetupWait = 10 * time.Second

// errSetupsBusy sheds a stream set-up that found no slot in time. A GET
// stream gets it as 200 text/event-stream with a retry: of 1-3 s and a
// comment (writeStreamRetry), not a 503, which would stop an EventSource
// for good: it comes back soon, with its Last-Event-ID, by itself.
var errSetupsBusy = &domain.Error{
	Code:    domain.CodeUnavailable,
	Message: "This server is busy setting up live streams. Please try again shortly.",
	Extra:   map[string]any{retryAfterExtra: 2 * time.Second},
}

// Locals keys: the slot's release, and that the hijacked serve owns it.
const (
	setupReleaseKey = "gavel.streamSetupRelease"
	setupHandedKey  = "gavel.streamSetupHanded"
)

// gateStreamSetups takes a set-up slot for a stream request before its
// session is read. openStream hands the slot to the hijacked serve; any
// other outcome gives it back here.
func (s *Server) gateStreamSetups(c *fiber.Ctx) error {
	if s.setups == nil || !strings.HasPrefix(c.Path(), "/stream/") {
		return c.Next()
	}
	select {
	case s.setups <- struct{}{}:
	default:
		t := time.NewTimer(s.setupWait)
		select {
		case s.setups <- struct{}{}:
			t.Stop()
		case <-c.UserContext().Done():
			t.Stop()
			return errSetupsBusy
		case <-t.C:
			return errSetupsBusy
		}
	}
	var once sync.Once
	release := func() { once.Do(func() { <-s.setups }) }
	c.Locals(setupReleaseKey, release)
	err := c.Next()
	if c.Locals(setupHandedKey) == nil {
		release()
	}
	return err
}

// handOverSetup returns the request's set-up release for the hijacked
// serve to call once the stream is live; nil when there is no gate.
func handOverSetup(c *fiber.Ctx) func() {
	release, _ := c.Locals(setupReleaseKey).(func())
	if release != nil {
		c.Locals(setupHandedKey, true)
	}
	return release
}
