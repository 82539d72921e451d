package netguard

import (
	"net"
	"syscall"
	"time"
)

// DeferAccept makes the kernel hold a new connection until its client has
// sent data (TCP_DEFER_ACCEPT), for up to d; after d the connection is
// accepted anyway. A connection that has not sent its request yet then
// costs the process nothing: without it, the server gives every accepted
// connection a goroutine, a request context and a 4 KiB read buffer while
// it waits for the request (#18: in a burst of 18,000 stream connections
// from one slow client process, 4,500 accepted connections waited so,
// about 15 KiB each, most of the burst's peak RSS). Connections past the
// caps are refused once they have spoken, not before. It reports false
// where the option is not available (ln is not TCP, or the kernel refused).
func DeferAccept(ln net.Listener, d time.Duration) bool {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return false
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return false
	}
	secs := max(1, int((d+time.Second-1)/time.Second))
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, secs)
	}); err != nil {
		return false
	}
	return serr == nil
}
