package natsserver

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gavel-auctions/gavel/domain"
)

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return out
}

// startCluster runs three JetStream servers routed to each other in this
// process, as docker-compose runs nats1..3.
func startCluster(t *testing.T) []*server.Server {
	t.Helper()
	ports := freePorts(t, 3)
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	var servers []*server.Server
	for i, p := range ports {
		ns, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       -1,
			JetStream:  true,
			StoreDir:   t.TempDir(),
			Cluster:    server.ClusterOpts{Name: "gavel-test", Host: "127.0.0.1", Port: p},
			Routes:     server.RoutesFromStr(strings.Join(routes, ",")),
			NoLog:      true,
			NoSigs:     true,
		})
		if err != nil {
			t.Fatal(err)
		}
		go ns.Start()
		t.Cleanup(ns.Shutdown)
		servers = append(servers, ns)
	}
	for _, ns := range servers {
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatal("a cluster server was not ready after 10 s")
		}
	}
	return servers
}

// TestEnsureStreamReplicas: with GAVEL_NATS_REPLICAS=3 on a three-server
// cluster the event stream is kept on every server, and events are still
// stored while one of them is down, which a single copy could not do if
// it lived on that server.
func TestEnsureStreamReplicas(t *testing.T) {
	servers := startCluster(t)
	var urls []string
	for _, ns := range servers {
		urls = append(urls, ns.ClientURL())
	}
	nc, err := Connect(strings.Join(urls, ","), nil, "replicas-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// The cluster elects its JetStream meta leader after it forms.
	var stream jetstream.Stream
	for {
		// Each attempt has its own deadline: a request sent before the
		// election would otherwise wait out the whole test's.
		attempt, stop := context.WithTimeout(ctx, 2*time.Second)
		stream, err = EnsureStream(attempt, js, 3)
		stop()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("ensure stream: %v", err)
		}
		t.Logf("ensure stream: %v (retrying)", err)
		time.Sleep(200 * time.Millisecond)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 3 || info.Cluster == nil {
		t.Fatalf("stream replicas %d, cluster %+v; want 3", info.Config.Replicas, info.Cluster)
	}

	// Stop the server that leads the stream: the other two hold a quorum.
	leader := info.Cluster.Leader
	for _, ns := range servers {
		if ns.Name() == leader {
			ns.Shutdown()
		}
	}
	subject := domain.AuctionChannel(1).Subject()
	for {
		msg := nats.NewMsg(subject)
		msg.Data = []byte(`{}`)
		msg.Header.Set(nats.MsgIdHdr, "after-"+leader)
		attempt, stop := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.PublishMsg(attempt, msg)
		stop()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no event stored within 60 s of stopping %s, the stream's leader", leader)
		}
		time.Sleep(200 * time.Millisecond)
	}
	info, err = stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 || info.Cluster.Leader == leader {
		t.Fatalf("after %s stopped: %d messages, leader %q", leader, info.State.Msgs, info.Cluster.Leader)
	}
}
