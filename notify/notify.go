// Package notify sends Gavel's email: it turns committed events into
// notices (outbid, won, sold, …), records each once under a unique key,
// renders it in the user's time zone and hands it to an SMTP server or,
// with none configured, to a development mailbox in the database. It also
// owns the signed links of email verification, password reset and
// one-click unsubscribe. docs/EMAIL.md describes the flows.
package notify

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/mail"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	_ "time/tzdata" // users' time zones, on hosts without a zoneinfo database

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// Users is the account store the notifier consumes.
type Users interface {
	UserByID(ctx context.Context, id int64) (domain.User, error)
	UserByEmail(ctx context.Context, email string) (domain.User, error)
	MarkEmailVerified(ctx context.Context, userID int64, email string) (domain.User, error)
	ResetPassword(ctx context.Context, userID, authVersion int64, password string) (domain.User, error)
	SetTimeZone(ctx context.Context, userID int64, tz string) error
}

// Auctions reads the auction a notice is about.
type Auctions interface {
	Auction(ctx context.Context, id int64) (domain.Auction, error)
}

// Invoices gives the path or URL of a winner's invoice, "" while there is
// none; the "you won" email links to it when there is.
type Invoices interface {
	InvoiceURL(ctx context.Context, auctionID, userID int64) string
}

// NoInvoices is Invoices before invoicing exists: never a link.
type NoInvoices struct{}

// InvoiceURL returns "".
func (NoInvoices) InvoiceURL(context.Context, int64, int64) string { return "" }

// Config tunes the notifier. Zero fields take the defaults beside them.
type Config struct {
	// PublicURL is where users reach Gavel; links in email start with it.
	PublicURL string // default http://localhost:8080
	// From is the sender of every email.
	From *mail.Address // default "Gavel <gavel@localhost>"
	// RequireVerified says whether unverified users may trade; the pages
	// say so when it is set.
	RequireVerified bool
	VerifyTTL       time.Duration // verification link lifetime; default 48h
	ResetTTL        time.Duration // reset link lifetime; default 1h
	// Per-address limits: at most this many verification (or reset) emails
	// per address per window; default 3 per 15 minutes (reset: per hour).
	VerifyLimit, ResetLimit   int
	VerifyWindow, ResetWindow time.Duration
	// Workers is the number of sending goroutines (each with its own SMTP
	// connection); default 4.
	Workers int
	// Batch is how many notices a worker claims at once; default 50.
	Batch int
	// Lease is how long a claimed notice is a worker's before another may
	// take it over; default 2 minutes.
	Lease time.Duration
	// RetryMin and RetryMax bound the backoff while the mail server is down
	// or answers 4xx; defaults 1s and 5m.
	RetryMin, RetryMax time.Duration
	// GiveUpAfter fails a notice still undelivered this long after it was
	// recorded; default 72h.
	GiveUpAfter time.Duration
	// Poll is how often idle workers look for notices recorded by other
	// nodes; default 1s.
	Poll time.Duration
	// IdleFor reports how long this node has judged no bid
	// (bidding.Service.IdleFor). Bids count as flowing until it reaches
	// Quiet. While they flow, each worker waits up to BusyPause before
	// every notice, and the consumer before every batch of events, so
	// that a backlog of mail yields the CPU and the database to bids
	// (docs/EMAIL.md, "Bids come first").
	IdleFor func() time.Duration
	// Quiet is how long no bid must have been judged for mail to go at
	// full speed; default 250ms. Waiting only for an idle instant let a
	// storm's gaps between batches through: the bench saw 50 notices a
	// second go out during a storm, each against the next batch of bids.
	Quiet time.Duration
	// Busy reports whether bids are being judged right now; it is used
	// when IdleFor is nil. Nil (and IdleFor nil) means never busy.
	Busy func() bool
	// BusyPause is the longest such wait; default 1s, so that a storm
	// that never ends still lets Workers notices a second through (4/s by
	// default), while a burst holds mail back only as long as it lasts.
	// At 50ms the bench still showed bid p99 1.2–1.7× worse with the
	// notifier working (docs/BENCHMARKS.md).
	BusyPause time.Duration
	// Now is the server clock.
	Now    func() time.Time
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.PublicURL == "" {
		c.PublicURL = "http://localhost:8080"
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.From == nil {
		c.From = &mail.Address{Name: "Gavel", Address: "gavel@localhost"}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(d *int, v int) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.VerifyTTL, 48*time.Hour)
	def(&c.ResetTTL, time.Hour)
	defInt(&c.VerifyLimit, 3)
	defInt(&c.ResetLimit, 3)
	def(&c.VerifyWindow, 15*time.Minute)
	def(&c.ResetWindow, time.Hour)
	defInt(&c.Workers, 4)
	defInt(&c.Batch, 50)
	def(&c.Lease, 2*time.Minute)
	def(&c.RetryMin, time.Second)
	def(&c.RetryMax, 5*time.Minute)
	def(&c.GiveUpAfter, 72*time.Hour)
	def(&c.Poll, time.Second)
	def(&c.BusyPause, time.Second)
	def(&c.Quiet, 250*time.Millisecond)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Service is the notifier: it records notices, sends them, and serves the
// email flows of the web layer.
type Service struct {
	cfg       Config
	st        *store
	users     Users
	auctions  Auctions
	invoices  Invoices
	transport Transport
	log       *slog.Logger
	key       []byte
	host      string
	// wake tells idle workers a notice was recorded on this node.
	wake chan struct{}
	// paused counts the pauses made for bids (Paused).
	paused atomic.Int64
}

// Paused reports how many times a worker has waited for bids to finish
// before sending a notice; the benchmark reports it.
func (s *Service) Paused() int64 { return s.paused.Load() }

// New returns a notifier on db (migrated). transport nil means the
// development mailbox.
func New(ctx context.Context, db *gorm.DB, users Users, auctions Auctions, invoices Invoices, transport Transport, cfg Config) (*Service, error) {
	cfg = cfg.withDefaults()
	if invoices == nil {
		invoices = NoInvoices{}
	}
	st := &store{db: db, pg: db.Dialector.Name() == "postgres"}
	s := &Service{cfg: cfg, st: st, users: users, auctions: auctions, invoices: invoices, transport: transport,
		log: cfg.Logger.With("component", "notify"), wake: make(chan struct{}, 1)}
	if s.transport == nil {
		s.transport = &Mailbox{st: st, from: cfg.From, now: cfg.Now}
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || u.Host == "" {
		return nil, domain.Errorf(domain.CodeInvalid, "GAVEL_PUBLIC_URL must be an absolute URL such as https://auctions.example.com")
	}
	s.host = u.Hostname()
	if s.key, err = st.linkKey(ctx, s.now()); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// bidsFlowing reports whether bids are being judged on this node, or were
// within the last Quiet: mail then yields to them.
func (s *Service) bidsFlowing() bool {
	if s.cfg.IdleFor != nil {
		return s.cfg.IdleFor() < s.cfg.Quiet
	}
	return s.cfg.Busy != nil && s.cfg.Busy()
}

// DevMailbox reports whether mail goes to the development mailbox.
func (s *Service) DevMailbox() bool {
	_, ok := s.transport.(*Mailbox)
	return ok
}

// VerificationRequired reports whether unverified users may not trade.
func (s *Service) VerificationRequired() bool { return s.cfg.RequireVerified }

func (s *Service) sign(t token) string { return sign(s.key, t) }

// signStored signs a token stored as JSON with a verification or reset
// notice. Tokens are signed when the email is built, so none is kept.
func (s *Service) signStored(payload string) string {
	var t token
	if err := json.Unmarshal([]byte(payload), &t); err != nil {
		return ""
	}
	return s.sign(t)
}

// url is an absolute link to path on the public site.
func (s *Service) url(path string, query map[string]string) string {
	u := s.cfg.PublicURL + path
	if len(query) > 0 {
		v := url.Values{}
		for k, q := range query {
			v.Set(k, q)
		}
		u += "?" + v.Encode()
	}
	return u
}

// absolute turns a site path into a link; an absolute URL stays as it is.
func (s *Service) absolute(p string) string {
	if strings.HasPrefix(p, "/") {
		return s.cfg.PublicURL + p
	}
	return p
}

// poke wakes an idle worker of this node.
func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
