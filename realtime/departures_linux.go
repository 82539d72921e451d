package realtime

import "syscall"

// departures is a writer's own epoll set of its connections, watched for
// hang-ups and stray bytes from clients. One epoll_wait per heartbeat slot
// then finds the departed clients, where a peek per connection per
// heartbeat would cost a syscall each (~2 µs here, an eighth of a
// heartbeat's cost). Each socket is also in the Go runtime's own epoll set;
// a file may be in several.
type departures struct {
	epfd   int
	byFD   map[int32]*conn
	events []syscall.EpollEvent
}

// departureBatch bounds what one poll reports; more waits for the next.
const departureBatch = 256

func newDepartures() *departures {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil // the heartbeat's peek notices departures instead
	}
	return &departures{epfd: epfd, byFD: make(map[int32]*conn), events: make([]syscall.EpollEvent, departureBatch)}
}

// watch adds c's socket, level-triggered: a hang-up stays reported until
// the connection is released, and closing the socket removes it from the
// set. It reports false when c cannot be watched (no file descriptor).
func (d *departures) watch(c *conn) bool {
	if d == nil {
		return false
	}
	fd := c.sock
	if fd < 0 && c.rc != nil {
		if err := c.rc.Control(func(f uintptr) { fd = int32(f) }); err != nil {
			fd = -1
		}
	}
	if fd < 0 {
		return false
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: fd}
	if err := syscall.EpollCtl(d.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev); err != nil {
		return false
	}
	c.fd = fd
	d.byFD[fd] = c
	return true
}

// forget drops c before its socket is closed, so that a new connection that
// reuses the descriptor number is never mistaken for it.
func (d *departures) forget(c *conn) {
	if d == nil || c.fd < 0 {
		return
	}
	if d.byFD[c.fd] == c {
		delete(d.byFD, c.fd)
	}
	c.fd = -1
}

// poll calls check for every watched connection whose client hung up or
// sent something, without blocking.
func (d *departures) poll(check func(*conn)) {
	if d == nil || len(d.byFD) == 0 {
		return
	}
	n, err := syscall.EpollWait(d.epfd, d.events, 0)
	for err == syscall.EINTR {
		n, err = syscall.EpollWait(d.epfd, d.events, 0)
	}
	for i := 0; i < n; i++ {
		if c := d.byFD[d.events[i].Fd]; c != nil {
			check(c)
		}
	}
}

// close releases the epoll set once every connection is released.
func (d *departures) close() {
	if d != nil {
		_ = syscall.Close(d.epfd)
		clear(d.byFD)
	}
}
