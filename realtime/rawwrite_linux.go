package realtime

import (
	"syscall"
	"unsafe"
)

// rawWrite sends b on a non-blocking socket with send(2), without the
// runtime's syscall bookkeeping. The call cannot block, so the goroutine
// keeps its P: with syscall.Write, a writer in the middle of a heartbeat
// burst was in the syscall state on every write, and sysmon kept waking
// every 20 µs to hand its P to another thread, about a tenth of an idle
// node's CPU here. send rather than write skips the VFS layer, and
// MSG_NOSIGNAL turns a reset peer into EPIPE without a SIGPIPE.
func rawWrite(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		syscall.MSG_NOSIGNAL|syscall.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}
