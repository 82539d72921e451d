//go:build !linux

package realtime

import "syscall"

// rawWrite is write(2); only Linux gets the version without the runtime's
// syscall bookkeeping.
func rawWrite(fd int, b []byte) (int, error) { return syscall.Write(fd, b) }
