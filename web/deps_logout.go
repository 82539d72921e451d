package web

import "context"

// SessionEnder tells every realtime node that a session ended (a logout),
// so that they close its streams at once rather than at the client's next
// reconnect. A nil Deps.SessionEnder publishes nothing.
type SessionEnder interface {
	// SessionEnded announces the end of the session whose token hashes
	// to session (domain.SessionHash).
	SessionEnded(ctx context.Context, session string) error
}
