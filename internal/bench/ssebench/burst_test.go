package ssebench

import (
	"io"
	"testing"
)

func TestParseBurst(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args    []string
		wantErr bool
		dial    int
	}{
		{args: []string{"--burst", "--conns", "18000"}, dial: 18000},
		{args: []string{"--burst", "--one-binary", "--conns", "500"}, dial: 500},
		{args: []string{"--burst", "--conns", "18000", "--dial", "300"}, dial: 300},
		{args: []string{"--conns", "18000"}, dial: 64}, // the paced mode is unchanged
		{args: []string{"--one-binary"}, wantErr: true},
		{args: []string{"--burst", "--kill-node", "--nodes", "2"}, wantErr: true},
		{args: []string{"--burst", "--nodes", "2"}, wantErr: true},
		{args: []string{"--burst", "--after", "1s"}, wantErr: true},
	} {
		o, err := parseSSE(tc.args, io.Discard)
		if tc.wantErr {
			if err == nil {
				t.Errorf("%v: no error", tc.args)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if o.dial != tc.dial {
			t.Errorf("%v: dial %d, want %d", tc.args, o.dial, tc.dial)
		}
		if o.burst && (o.nodes != 1 || o.clients != 1 || !o.skipFloor || o.shortHB != 0) {
			t.Errorf("%v: burst mode with nodes %d, clients %d, floor skipped %v, short heartbeat %s; want one node, one client, no floor, no second idle window",
				tc.args, o.nodes, o.clients, o.skipFloor, o.shortHB)
		}
	}
}
