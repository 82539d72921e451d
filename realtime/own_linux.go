package realtime

import (
	"net"
	"syscall"
)

// own makes c hold its socket as a bare file descriptor: a duplicate of
// nc's, non-blocking and close-on-exec, after which nc is closed. Go's
// socket (net.TCPConn, netFD, its two addresses, the runtime's poll
// descriptor and finalizer) is about 0.9 KiB that an idle stream does not
// need: the writer writes with send(2), departures are epoll on the
// descriptor, and peeks are recv(2) (#18). A counting listener's wrapper
// is detached first (Detach), so that closing nc neither counts the
// connection out nor half-closes it; c.free counts it out when c's
// descriptor is closed. It reports false, leaving nc as it was, when nc
// has no descriptor or the duplicate fails (out of descriptors).
func (c *conn) own(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	fd := -1
	cerr := rc.Control(func(s uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, s, syscall.F_DUPFD_CLOEXEC, 0)
		if e == 0 {
			fd = int(r)
		}
	})
	if cerr != nil || fd < 0 {
		return false
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return false
	}
	if d, ok := nc.(interface{ Detach() func() }); ok {
		c.free = d.Detach()
	}
	_ = nc.Close()
	c.sock = int32(fd)
	return true
}

// closeSocket closes c's socket and counts it out of the listener. The
// caller is c's writer, or c was never handed to one.
func (c *conn) closeSocket() {
	if c.sock >= 0 {
		_ = syscall.Close(int(c.sock))
		c.sock = -1
	} else if c.nc != nil {
		_ = c.nc.Close()
	}
	if f := c.free; f != nil {
		c.free = nil
		f()
	}
}
