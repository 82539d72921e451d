// Package natsserver starts Gavel's embedded NATS server (with JetStream)
// and connects clients to it or to an external NATS.
package natsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gavel-auctions/gavel/domain"
)

// Options configure an embedded server.
type Options struct {
	StoreDir string // JetStream storage; kept across restarts
	Host     string // default 127.0.0.1
	Port     int    // 0: do not listen (in-process only); -1: a random port
}

// Start runs an embedded NATS server with JetStream and waits until it is
// ready for connections.
func Start(o Options) (*server.Server, error) {
	opts := &server.Options{
		ServerName: "gavel-embedded",
		JetStream:  true,
		StoreDir:   o.StoreDir,
		Host:       o.Host,
		Port:       o.Port,
		NoLog:      true,
		NoSigs:     true,
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if o.Port == 0 {
		opts.DontListen = true
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("embedded nats: not ready after 10s")
	}
	return ns, nil
}

// Connect connects to url, or in-process to ns when ns is not nil. The
// connection reconnects forever: a NATS outage must never end the process.
func Connect(url string, ns *server.Server, name string, log *slog.Logger) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if log != nil && err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			if log != nil {
				log.Info("nats reconnected", "url", c.ConnectedUrlRedacted())
			}
		}),
	}
	if ns != nil {
		opts = append(opts, nats.InProcessServer(ns))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	return nc, nil
}

// EnsureStream creates or updates the GAVEL stream that stores every event.
// Duplicates is the window in which a re-published Nats-Msg-Id is dropped.
func EnsureStream(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.Stream, error) {
	if replicas < 1 {
		replicas = 1
	}
	cfg := jetstream.StreamConfig{
		Name:       domain.StreamName,
		Subjects:   []string{domain.StreamSubjects},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		MaxAge:     24 * time.Hour,
		Duplicates: 10 * time.Minute,
		Replicas:   replicas,
	}
	s, err := js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", domain.StreamName, err)
	}
	return s, nil
}
