package main

import (
	"context"
	"net"
	"syscall"
	"testing"

	"github.com/gavel-auctions/gavel/internal/config"
)

// A realtime-only node accepts its streams without TCP keepalive (the
// heartbeat finds a dead peer); the other roles keep Go's default.
func TestListenKeepAliveByRole(t *testing.T) {
	for _, tc := range []struct {
		role config.Role
		want int
	}{{config.RoleRealtime, 0}, {config.RoleAll, 1}, {config.RoleAPI, 1}} {
		t.Run(string(tc.role), func(t *testing.T) {
			lc := listenConfig(tc.role)
			ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			cc, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			sc, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer sc.Close()
			raw, err := sc.(*net.TCPConn).SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			var got int
			var gerr error
			if err := raw.Control(func(fd uintptr) {
				got, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
			}); err != nil || gerr != nil {
				t.Fatal(err, gerr)
			}
			if got != tc.want {
				t.Errorf("SO_KEEPALIVE = %d, want %d", got, tc.want)
			}
		})
	}
}
