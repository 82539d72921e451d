//go:build !linux

package database

import (
	"syscall"
	"time"
)

// userTimeout does nothing where TCP_USER_TIMEOUT does not exist; the
// keepalives still apply.
func userTimeout(time.Duration) func(network, address string, c syscall.RawConn) error {
	return nil
}
