package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/natsserver"
)

// TestNATSWatchersSumsNodes: the counts of every answering node are added
// up, a node answering twice counts once, and no node answering is an
// error rather than "nobody watches".
func TestNATSWatchersSumsNodes(t *testing.T) {
	t.Parallel()
	ns, err := natsserver.Start(natsserver.Options{StoreDir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	w := natsWatchers{nc}
	if _, err := w.Watching(context.Background(), []int64{1}, 0); err == nil {
		t.Error("no node answered, yet no error")
	}
	answer := func(node string, counts map[int64]int64, times int) {
		sub, err := nc.Subscribe(domain.WatchersSubject, func(m *nats.Msg) {
			var req domain.WatchersRequest
			if json.Unmarshal(m.Data, &req) != nil || req.ExcludeUser != 7 {
				t.Errorf("%s: request %s", node, m.Data)
			}
			data, _ := json.Marshal(domain.WatchersReply{Node: node, Watchers: counts})
			for range times {
				_ = m.Respond(data)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Unsubscribe() })
	}
	answer("a", map[int64]int64{1: 2, 2: 1}, 1)
	answer("b", map[int64]int64{1: 3}, 2)
	got, err := w.Watching(context.Background(), []int64{1, 2, 3}, 7)
	if err != nil {
		t.Fatal(err)
	}
	if got[1] != 5 || got[2] != 1 || len(got) != 2 {
		t.Errorf("Watching = %v, want 1: 5, 2: 1", got)
	}
}
