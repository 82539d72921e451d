package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/gavel-auctions/gavel/domain"
)

// outgoing is one email ready to go.
type outgoing struct {
	NoticeID  int64
	Kind      domain.NoticeKind
	MessageID string // without angle brackets
	To        string // address only
	ToName    string
	Rendered  rendered
	Date      time.Time
}

// Transport delivers email. Open returns a connection that sends one
// message at a time; a worker keeps it open across messages.
type Transport interface {
	Open(ctx context.Context) (Conn, error)
}

// Conn is an open connection to a Transport.
type Conn interface {
	Send(ctx context.Context, m *outgoing) error
	Close() error
}

// permanentError is a refusal that retrying cannot change: a 5xx for the
// recipient, or a message that cannot be built.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

// connError means the server could not be reached or the connection broke:
// every notice waits, not just this one.
type connError struct{ err error }

func (e *connError) Error() string { return e.err.Error() }
func (e *connError) Unwrap() error { return e.err }

// messageID derives a stable Message-ID from a notice's unique key, so a
// notice sent twice (the crash window) is recognisably the same message.
func messageID(userID int64, kind, key, host string) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%d\x00%s\x00%s", userID, kind, key)))
	return "n" + hex.EncodeToString(sum[:16]) + "@" + host
}

// headerText removes what could end a header line or smuggle another one;
// go-mail encodes the rest.
func headerText(s string) string {
	return oneLine(s, 200)
}

// buildMsg makes the MIME message: From, To, Subject, Date, a stable
// Message-ID, both parts, and the unsubscribe headers of RFC 2369/8058.
func buildMsg(from *mail.Address, m *outgoing) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(from)
	addr, err := mail.ParseAddress(m.To)
	if err != nil || addr.Address != m.To {
		return nil, &permanentError{fmt.Sprintf("the address %q cannot receive mail", truncate(m.To, 100))}
	}
	addr.Name = headerText(m.ToName)
	msg.ToMailAddress(addr)
	msg.Subject(headerText(m.Rendered.Subject))
	msg.SetMessageIDWithValue(m.MessageID)
	msg.SetDateWithValue(m.Date)
	msg.SetGenHeader(gomail.HeaderXMailer, "Gavel")
	msg.SetGenHeader("X-Gavel-Notice", string(m.Kind))
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	if u := m.Rendered.Unsubscribe; u != "" {
		if strings.HasPrefix(u, "https://") {
			if err := msg.SetListUnsubscribeOneClick(u); err != nil {
				return nil, &permanentError{err.Error()}
			}
		} else {
			// RFC 8058 one-click needs HTTPS; a plain-HTTP development
			// address still gets the ordinary RFC 2369 header.
			msg.SetListUnsubscribe("<" + u + ">")
		}
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Rendered.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.Rendered.HTML)
	return msg, nil
}

// SMTPConfig says how to reach the mail server.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string
	Password string
	// TLS is "starttls" (required), "tls" (implicit, as smtps://) or "none".
	TLS     string
	From    *mail.Address
	Timeout time.Duration // per connection and command; default 15s
}

// SMTP delivers through a mail server with go-mail.
type SMTP struct{ cfg SMTPConfig }

// NewSMTP returns an SMTP transport.
func NewSMTP(cfg SMTPConfig) *SMTP {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	return &SMTP{cfg: cfg}
}

// Open connects and says hello (and STARTTLS and AUTH, as configured).
func (t *SMTP) Open(ctx context.Context) (Conn, error) {
	opts := []gomail.Option{gomail.WithPort(t.cfg.Port), gomail.WithTimeout(t.cfg.Timeout), gomail.WithoutNoop()}
	switch t.cfg.TLS {
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if t.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(t.cfg.Username), gomail.WithPassword(t.cfg.Password))
	}
	c, err := gomail.NewClient(t.cfg.Host, opts...)
	if err != nil {
		return nil, &permanentError{err.Error()}
	}
	if err := c.DialWithContext(ctx); err != nil {
		return nil, &connError{err}
	}
	return &smtpConn{c: c, from: t.cfg.From}, nil
}

type smtpConn struct {
	c    *gomail.Client
	from *mail.Address
}

func (s *smtpConn) Send(_ context.Context, m *outgoing) error {
	msg, err := buildMsg(s.from, m)
	if err != nil {
		return err
	}
	err = s.c.Send(msg)
	if err == nil {
		return nil
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		switch {
		case code >= 500 && code < 600:
			return &permanentError{strings.TrimSpace(err.Error())}
		case code >= 400 && code < 500:
			return err
		case se.Reason == gomail.ErrConnCheck || se.Reason == gomail.ErrSMTPReset:
			return &connError{err}
		}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, net.ErrClosed) {
		return &connError{err}
	}
	// Anything else without a reply code (a broken pipe mid-DATA): treat
	// the connection as gone; the notice is retried on a new one.
	return &connError{err}
}

func (s *smtpConn) Close() error { return s.c.Close() }

// Mailbox keeps mail in the database (the development mailbox), for
// deployments without an SMTP server: administrators read it at
// /admin/mail.
type Mailbox struct {
	st   *store
	from *mail.Address
	now  func() time.Time
}

// Open returns the mailbox itself: there is nothing to connect to.
func (b *Mailbox) Open(context.Context) (Conn, error) { return b, nil }

// Close does nothing.
func (b *Mailbox) Close() error { return nil }

// Send stores the message as a mail server would receive it.
func (b *Mailbox) Send(ctx context.Context, m *outgoing) error {
	msg, err := buildMsg(b.from, m)
	if err != nil {
		return err
	}
	var raw bytes.Buffer
	if _, err := msg.WriteTo(&raw); err != nil {
		return &permanentError{err.Error()}
	}
	head, _, _ := strings.Cut(strings.ReplaceAll(raw.String(), "\r\n", "\n"), "\n\n")
	return b.st.saveMail(ctx, mailboxRow{NotificationID: m.NoticeID, MessageID: m.MessageID, Kind: string(m.Kind), ToAddr: m.To,
		Subject: headerText(m.Rendered.Subject), Headers: head, TextBody: m.Rendered.Text, HTMLBody: m.Rendered.HTML, CreatedAt: b.now().UTC()})
}
