//go:build linux

package main

import (
	"log/slog"
	"net"
	"syscall"
	"testing"

	"github.com/gavel-auctions/gavel/internal/config"
)

// A node that serves streams (realtime, all) defers accept until a
// connection has sent data (#18: a burst's connections waiting for their
// request cost the node nothing); an api node accepts at once.
func TestRealtimeNodeDefersAccept(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		role     config.Role
		deferred bool
	}{{config.RoleRealtime, true}, {config.RoleAll, true}, {config.RoleAPI, false}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		cfg.Role = tc.role
		n := &node{cfg: cfg, log: slog.New(slog.DiscardHandler)}
		_ = n.guard(ln)
		rc, err := ln.(*net.TCPListener).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		secs := -1
		var serr error
		if err := rc.Control(func(fd uintptr) {
			secs, serr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT)
		}); err != nil || serr != nil {
			t.Fatal(err, serr)
		}
		_ = ln.Close()
		if got := secs > 0; got != tc.deferred {
			t.Errorf("role %s: TCP_DEFER_ACCEPT %d, want deferred %v", tc.role, secs, tc.deferred)
		}
	}
}
