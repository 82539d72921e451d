//go:build !linux

package ssebench

import (
	"bufio"
	"net"
)

// handOff is Linux-only (epoll); elsewhere each stream's goroutine reads
// its stream to the end.
func (w *sseWorker) handOff(*sseClientConn, net.Conn, *bufio.Reader, *sseParse) (bool, error) {
	return false, nil
}

// sweepLive has nothing to sweep without epoll readers.
func sweepLive() {}
