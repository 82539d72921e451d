//go:build !linux

package realtime

import "net"

// own keeps Go's socket outside Linux.
func (c *conn) own(net.Conn) bool { return false }

// closeSocket closes c's socket.
func (c *conn) closeSocket() {
	if c.nc != nil {
		_ = c.nc.Close()
	}
}
