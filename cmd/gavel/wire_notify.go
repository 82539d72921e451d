package main

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/notify"
	"github.com/gavel-auctions/gavel/web"
)

// startNotify wires email on an API node: the notifier's durable consumer
// and senders run as background jobs, and the web layer gets the email
// routes and the reinstatement of suspended users.
func (n *node) startNotify(ctx context.Context, js jetstream.JetStream, jobCtx context.Context, deps *web.Deps) error {
	deps.Reinstater = n.svc
	transport, err := mailTransport(n.cfg.Mail)
	if err != nil {
		return err
	}
	from, err := n.cfg.Mail.FromAddress()
	if err != nil {
		return fmt.Errorf("GAVEL_MAIL_FROM: %w", err)
	}
	svc, err := notify.New(ctx, n.db, n.svc, n.svc, n.inv, transport, notify.Config{
		PublicURL: n.cfg.Mail.PublicURL, From: from, RequireVerified: n.cfg.Mail.VerificationRequired(), Logger: n.log,
		IdleFor: n.svc.IdleFor, // bids come first: mail yields while they flow
	})
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	consumer, err := notify.EnsureConsumer(cctx, js, notify.ConsumerOptions{})
	cancel()
	if err != nil {
		return fmt.Errorf("notifier consumer: %w", err)
	}
	n.run(func() { svc.Consume(jobCtx, consumer, notify.ConsumerOptions{}) })
	n.run(func() { svc.RunSenders(jobCtx) })
	deps.Notices = svc
	return nil
}

// mailTransport is SMTP when GAVEL_SMTP_URL is set, else nil: the
// development mailbox.
func mailTransport(m config.Mail) (notify.Transport, error) {
	if m.SMTPURL == "" {
		return nil, nil
	}
	host, port, user, pass, err := m.SMTPServer()
	if err != nil {
		return nil, fmt.Errorf("GAVEL_SMTP_URL: %w", err)
	}
	from, err := m.FromAddress()
	if err != nil {
		return nil, fmt.Errorf("GAVEL_MAIL_FROM: %w", err)
	}
	return notify.NewSMTP(notify.SMTPConfig{Host: host, Port: port, Username: user, Password: pass, TLS: m.TLSMode(), From: from}), nil
}
