package media

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startNATSCluster runs three JetStream servers routed to each other in
// this process and returns their client URLs.
func startNATSCluster(t *testing.T) []string {
	t.Helper()
	var routes []string
	var ports []int
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
		routes = append(routes, "nats://"+l.Addr().String())
		_ = l.Close()
	}
	var urls []string
	for i, port := range ports {
		ns, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("m%d", i+1), Host: "127.0.0.1", Port: -1,
			JetStream: true, StoreDir: t.TempDir(),
			Cluster: server.ClusterOpts{Name: "gavel-media-test", Host: "127.0.0.1", Port: port},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
			NoLog:   true, NoSigs: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		go ns.Start()
		t.Cleanup(ns.Shutdown)
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatal("a cluster server was not ready after 10 s")
		}
		urls = append(urls, ns.ClientURL())
	}
	return urls
}

// TestBucketReplicas: with GAVEL_NATS_REPLICAS=3 on a three-server cluster
// the photo bucket keeps three copies, and a file stored through one
// server is read through another, as a second API node would.
func TestBucketReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-server NATS cluster")
	}
	urls := startNATSCluster(t)
	connect := func(url string) jetstream.JetStream {
		nc, err := nats.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The cluster elects its JetStream meta leader in its own time: retry
	// until the bucket can be created, each attempt with its own deadline
	// (a request sent before the election would wait out the whole test's).
	js := connect(urls[0])
	var b *blobs
	var err error
	for {
		attempt, stop := context.WithTimeout(ctx, 5*time.Second)
		b, err = openBlobs(attempt, js, 3, 10*time.Second)
		stop()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("open the bucket on the cluster: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	st, err := b.os.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Replicas() != 3 {
		t.Fatalf("the bucket keeps %d copies, want 3", st.Replicas())
	}
	data := []byte("a stored photo file")
	// The new bucket's stream elects its own leader after it is created;
	// a put before that finds no responder, so it is retried the same way.
	for {
		if err = b.put(ctx, "f.jpg", data); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("put on the cluster: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	other, err := openBlobs(ctx, connect(urls[2]), 3, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got, err := other.get(ctx, "f.jpg")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read through another server: %q, %v", got, err)
	}
}
