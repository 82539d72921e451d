package realtime

import (
	"os"
	"runtime"
	"time"
)

// Config holds a Hub's settings. Zero values take the defaults noted.
type Config struct {
	// Node names this node in stats (default: the host name).
	Node string
	// Heartbeat is how often a stream gets a comment line (default 15s). A
	// departed client is noticed and released within a fifth of it (at
	// most 3s) on Linux, and within a whole Heartbeat elsewhere.
	Heartbeat time.Duration
	// Retry is the longest reconnection delay sent to browsers by a
	// small node (default 3s). Each stream gets a delay between Retry/6
	// and Retry, so the watchers of a node that dies do not all come back
	// in the same instant; a node holding more than RetryRate·Retry·5/6
	// streams widens the window (retry.go), up to 3·Retry.
	Retry time.Duration
	// RetryRate is the rate, in streams per second, at which this node's
	// watchers are to arrive at the survivors when it dies (default
	// 5000): the retry window is wide enough for that. Issue #11 asks a
	// survivor for at least 4,000 set-ups a second; arriving a little
	// faster than that ends the arrivals sooner (16,000 by 3.75 s), and
	// what the survivor cannot set up at once waits its turn at the
	// set-up gate, which costs it no CPU.
	RetryRate int
	// MaxConns caps this node's streams (default 19000: the process may
	// open 20000 files).
	MaxConns int
	// MaxConnsPerUser caps one user's streams on this node (default 16).
	MaxConnsPerUser int
	// QueueLen bounds the frames queued for one connection; a connection
	// that falls further behind is closed as a slow consumer (default 64).
	QueueLen int
	// WriteTimeout is the write deadline: a connection whose socket stays
	// full this long, without taking a byte, is closed as a slow consumer.
	// Writers never block on it (default 5s).
	WriteTimeout time.Duration
	// StatsInterval is how often the node publishes its stats and admin
	// streams get a stats event (default 2s), while some node in the
	// cluster has an admin stream.
	StatsInterval time.Duration
	// Writers is the number of shared writer goroutines (default GOMAXPROCS).
	Writers int
	// Now is the server clock (UTC) stamped into server_time (default time.Now).
	Now func() time.Time
	// ReturnQuiet: once ReturnBurst stream set-ups have arrived since the
	// last time, and set-ups have then been quiet this long, the process
	// gives its free memory back to the OS (memreturn.go; default 3s,
	// negative: never).
	ReturnQuiet time.Duration
	// ReturnBurst is how many set-ups make a burst (default 1000).
	ReturnBurst int
}

func (c *Config) defaults() {
	if c.Node == "" {
		c.Node, _ = os.Hostname()
		if c.Node == "" {
			c.Node = "realtime"
		}
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 15 * time.Second
	}
	if c.Retry <= 0 {
		c.Retry = 3 * time.Second
	}
	if c.RetryRate <= 0 {
		c.RetryRate = 5000
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 19000
	}
	if c.MaxConnsPerUser <= 0 {
		c.MaxConnsPerUser = 16
	}
	if c.QueueLen <= 0 {
		c.QueueLen = 64
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 5 * time.Second
	}
	if c.StatsInterval <= 0 {
		c.StatsInterval = 2 * time.Second
	}
	if c.Writers <= 0 {
		c.Writers = runtime.GOMAXPROCS(0)
	}
	if c.ReturnQuiet == 0 {
		c.ReturnQuiet = 3 * time.Second
	}
	if c.ReturnBurst <= 0 {
		c.ReturnBurst = 1000
	}
	if c.Now == nil {
		c.Now = func() time.Time { return time.Now().UTC() }
	}
}

// Internal sizes.
const (
	shardBits   = 4
	shardMsgs   = 8192 // NATS messages a shard buffers before nats.go drops (then caught up from the Log)
	fillWorkers = 4
	userShards  = 16
)
