package realtime

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// fallbackWriteDeadline is the write deadline of a connection that exposes
// no file descriptor (net.Pipe, wrappers): short, because a shared writer
// is blocked for that long.
const fallbackWriteDeadline = 5 * time.Millisecond

// errWouldBlock reports that the socket buffer is full: the rest of the
// data stays queued and the writer retries on a later tick.
var errWouldBlock = errors.New("realtime: socket buffer full")

// write writes b without blocking. With a file descriptor the write is a
// plain non-blocking write(2): a full socket buffer returns at once, and the
// writer moves on to other connections. Without one, a short deadline
// bounds the wait. Only c's writer calls it.
func (c *conn) write(b []byte) (int, error) {
	return c.writeTo(max(c.fd, c.sock), b)
}

// writeTo is write on descriptor fd when fd >= 0, else on c.rc or c.nc.
// setupFlush passes c.sock, which it reads under c.mu: c.fd belongs to the
// writer goroutine.
func (c *conn) writeTo(fd int32, b []byte) (int, error) {
	if fd >= 0 {
		// The writer goroutine alone writes and closes a socket it watches
		// (setupFlush writes before that, holding c.mu, which the writer's
		// release takes before it closes), so the descriptor cannot be
		// closed under us and the runtime's per-call locking (a few
		// percent of a heartbeat) can be skipped.
		n, err := retryEINTR(int(fd), b)
		return writeResult(b, n, err)
	}
	if c.rc != nil {
		var n int
		var err error
		cerr := c.rc.Write(func(fd uintptr) bool {
			n, err = retryEINTR(int(fd), b)
			return true // never wait for writability
		})
		if cerr != nil {
			return max(n, 0), cerr
		}
		return writeResult(b, n, err)
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(fallbackWriteDeadline))
	n, err := c.nc.Write(b)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, errWouldBlock
	}
	return n, err
}

// retryEINTR is a non-blocking write(2) that retries interrupted calls.
func retryEINTR(fd int, b []byte) (int, error) {
	for {
		n, err := rawWrite(fd, b)
		if err != syscall.EINTR {
			return n, err
		}
	}
}

// writeResult maps a non-blocking write's outcome: a full socket buffer,
// whole or in part, is errWouldBlock.
func writeResult(b []byte, n int, err error) (int, error) {
	n = max(n, 0)
	if err == syscall.EAGAIN || err == nil && n < len(b) {
		return n, errWouldBlock
	}
	return n, err
}

// peerGone peeks at the socket without blocking: 0 bytes means the client
// sent FIN, an error means it reset. This is how a stream that only writes
// notices a departed client without a reader goroutine. Bytes a client sends
// after its request are read and discarded so the next peek can see EOF.
func (c *conn) peerGone() bool {
	if c.sock >= 0 {
		return peek(int(c.sock))
	}
	if c.rc == nil {
		return false // the next failed write tells instead
	}
	gone := false
	err := c.rc.Read(func(fd uintptr) bool {
		gone = peek(int(fd))
		return true // never wait for readability
	})
	return gone || err != nil
}

// peek is peerGone on a non-blocking descriptor.
func peek(fd int) (gone bool) {
	var buf [64]byte
	for range 16 {
		n, _, err := syscall.Recvfrom(fd, buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil || n == 0:
			return true
		}
		if _, _, err := syscall.Recvfrom(fd, buf[:], syscall.MSG_DONTWAIT); err != nil &&
			err != syscall.EAGAIN && err != syscall.EINTR {
			return true
		}
	}
	return false
}
