package bidding

import (
	"context"
	"database/sql"
	"time"
)

// maxHold bounds how long a drain keeps one connection, so that a storm
// lasting hours still lets the pool recycle it (its ConnMaxLifetime, a
// failover behind a proxy).
const maxHold = time.Minute

// heldConn is the pooled connection a shard's drain keeps from one batch
// to the next while its queue stays busy, and gives back when the queue
// empties or a batch fails. Only the drain that owns it uses it.
type heldConn struct {
	conn  *sql.Conn
	since time.Time
}

// get returns the held connection, taking one from db first if none is
// held or it has been held for maxHold.
func (h *heldConn) get(ctx context.Context, db *sql.DB) (*sql.Conn, error) {
	if h.conn != nil && time.Since(h.since) > maxHold {
		h.release()
	}
	if h.conn == nil {
		c, err := db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		h.conn, h.since = c, time.Now()
	}
	return h.conn, nil
}

// release gives the connection back to the pool.
func (h *heldConn) release() {
	if h.conn != nil {
		_ = h.conn.Close()
		h.conn = nil
	}
}
