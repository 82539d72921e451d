package main

import (
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"testing"

	"github.com/gavel-auctions/gavel/internal/config"
)

// TestTuneGC: a node that commits bids collects at bidGCPercent unless
// GOGC says otherwise; a realtime-only node keeps what it had.
func TestTuneGC(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	tests := []struct {
		role config.Role
		gogc string // "" leaves GOGC unset
		want int
	}{
		{config.RoleAll, "", bidGCPercent},
		{config.RoleAPI, "", bidGCPercent},
		{config.RoleRealtime, "", 100},
		{config.RoleAll, "100", 100},
		{config.RoleAPI, "off", 100},
	}
	for _, tt := range tests {
		t.Run(string(tt.role)+"/GOGC="+tt.gogc, func(t *testing.T) {
			t.Setenv("GOGC", tt.gogc) // restored after the test, set or not
			if tt.gogc == "" {
				if err := os.Unsetenv("GOGC"); err != nil {
					t.Fatal(err)
				}
			}
			debug.SetGCPercent(100)
			tuneGC(tt.role, log)
			if got := debug.SetGCPercent(100); got != tt.want {
				t.Fatalf("GC percent %d, want %d", got, tt.want)
			}
		})
	}
}
