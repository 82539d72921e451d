package bidding

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/crypto/bcrypt"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/natsserver"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// TestFenceOnReplicatedStream is TestStalledRelayIsFenced on the
// production shape: three NATS servers in a cluster and the stream
// replicated on all three (GAVEL_NATS_REPLICAS=3). A fence that refuses the
// stale relay must leave the stream writable; fencing with
// Nats-Expected-Last-Msg-Id did not (nats-server stops a replicated stream
// whose replica finds the expected id wrong).
func TestFenceOnReplicatedStream(t *testing.T) {
	e := newClusteredRelayEnv(t, 200*time.Millisecond)
	stalledRelayIsFenced(t, e)
}

// newClusteredRelayEnv is newRelayEnv with a three-server NATS cluster and
// the event stream replicated three times.
func newClusteredRelayEnv(t *testing.T, dupWindow time.Duration) *relayEnv {
	t.Helper()
	e := &relayEnv{t: t, dir: t.TempDir()}
	e.s = New(testpg.DB(t), Options{PasswordCost: bcrypt.MinCost})
	ports := make([]int, 3)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
	}
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	var servers []*server.Server
	for i, p := range ports {
		ns, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: -1,
			JetStream: true, StoreDir: fmt.Sprintf("%s/n%d", e.dir, i+1),
			Cluster: server.ClusterOpts{Name: "relay-test", Host: "127.0.0.1", Port: p},
			Routes:  routes, NoLog: true, NoSigs: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		go ns.Start()
		t.Cleanup(ns.Shutdown)
		servers = append(servers, ns)
	}
	for _, ns := range servers {
		if !ns.ReadyForConnections(20 * time.Second) {
			t.Fatal("a NATS server was not ready within 20s")
		}
	}
	e.ns = servers[0]
	nc, err := natsserver.Connect(servers[0].ClientURL()+","+servers[1].ClientURL(), nil, "relay-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if e.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	// The cluster elects its JetStream leader after it forms.
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = e.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name: domain.StreamName, Subjects: []string{domain.StreamSubjects}, Storage: jetstream.FileStorage,
			Duplicates: dupWindow, Replicas: 3,
		})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("create the replicated stream: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	return e
}
