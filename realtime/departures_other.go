//go:build !linux

package realtime

// departures has no epoll outside Linux: every heartbeat peeks instead.
type departures struct{}

func newDepartures() *departures       { return nil }
func (d *departures) watch(*conn) bool { return false }
func (d *departures) forget(*conn)     {}
func (d *departures) poll(func(*conn)) {}
func (d *departures) close()           {}
