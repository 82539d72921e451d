//go:build !linux

package netguard

import (
	"net"
	"time"
)

// DeferAccept is TCP_DEFER_ACCEPT on Linux (defer_linux.go); elsewhere
// connections are accepted as they come, and it reports false.
func DeferAccept(ln net.Listener, d time.Duration) bool { return false }
