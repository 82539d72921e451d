package outage

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// refusedConnectError dials a port nobody listens on, for the error pgx
// really returns when PostgreSQL is down.
func refusedConnectError(t *testing.T) error {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = pgx.Connect(ctx, fmt.Sprintf("postgres://u@127.0.0.1:%d/db?sslmode=disable", port))
	if err == nil {
		t.Fatal("connected to a closed port")
	}
	return err
}

func TestDB(t *testing.T) {
	t.Parallel()
	deadline, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-deadline.Done()
	tests := []struct {
		name string
		err  error
		want kind
	}{
		{"refused", refusedConnectError(t), kindDown},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, kindDown},
		{"starting up", fmt.Errorf("find session: %w", &pgconn.PgError{Code: "57P03"}), kindDown},
		{"connection failure", &pgconn.PgError{Code: "08006"}, kindDown},
		{"statement timeout", &pgconn.PgError{Code: "57014"}, kindDown},
		{"idle in transaction timeout", &pgconn.PgError{Code: "25P03"}, kindDown},
		{"lock timeout", &pgconn.PgError{Code: "55P03"}, kindBusy},
		{"too many connections", &pgconn.PgError{Code: "53300"}, kindBusy},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, kindBusy},
		{"deadline", deadline.Err(), kindDown},
		{"wrapped deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), kindDown},
		{"bad conn", driver.ErrBadConn, kindDown},
		{"conn closed", pgconn.ErrConnClosed, kindDown},
		{"unexpected EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), kindDown},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, kindDown},
		{"sqlite busy", errors.New("database is locked (5) (SQLITE_BUSY)"), kindBusy},
		{"unique violation", &pgconn.PgError{Code: "23505"}, kindNone},
		{"syntax", &pgconn.PgError{Code: "42601"}, kindNone},
		{"not found", gorm.ErrRecordNotFound, kindNone},
		{"plain", errors.New("boom"), kindNone},
		{"canceled", context.Canceled, kindNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := DB(tt.err)
			if tt.want == kindNone {
				if got != tt.err {
					t.Fatalf("DB(%v) = %v, want it unchanged", tt.err, got)
				}
				if IsDB(tt.err) {
					t.Fatalf("IsDB(%v) = true", tt.err)
				}
				return
			}
			if domain.ErrorCode(got) != domain.CodeUnavailable {
				t.Fatalf("DB(%v) has code %q, want unavailable", tt.err, domain.ErrorCode(got))
			}
			if !errors.Is(got, tt.err) {
				t.Fatalf("DB(%v) lost its cause", tt.err)
			}
			de, _ := errors.AsType[*domain.Error](got)
			if de.Extra["dependency"] != Database || de.Extra["retry_after"] != RetryAfter {
				t.Fatalf("extra = %v", de.Extra)
			}
			wantMsg := "The database is not answering right now; nothing was lost. Please try again in a few seconds."
			if tt.want == kindBusy {
				wantMsg = "The database is too busy to answer right now; nothing was lost. Please try again in a moment."
			}
			if de.Message != wantMsg {
				t.Fatalf("message = %q", de.Message)
			}
			if !IsDB(tt.err) {
				t.Fatalf("IsDB(%v) = false", tt.err)
			}
		})
	}
}

func TestDBKeepsDomainErrors(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("bid: %w", domain.ErrAuctionClosed)
	if got := DB(err); got != err {
		t.Fatalf("DB changed a domain error: %v", got)
	}
	if DB(nil) != nil {
		t.Fatal("DB(nil) != nil")
	}
	// Translating twice changes nothing.
	once := DB(pgconn.ErrConnClosed)
	if twice := DB(once); twice != once {
		t.Fatal("DB translated its own error again")
	}
}

func TestBus(t *testing.T) {
	t.Parallel()
	for _, err := range []error{nats.ErrConnectionReconnecting, nats.ErrTimeout, nats.ErrNoResponders, fmt.Errorf("publish: %w", nats.ErrConnectionClosed)} {
		got := Bus(err)
		var e *Error
		if !errors.As(got, &e) || e.Dependency() != NATS || domain.ErrorCode(got) != domain.CodeUnavailable {
			t.Errorf("Bus(%v) = %v", err, got)
		}
	}
	if err := errors.New("bad subject"); Bus(err) != err {
		t.Error("Bus translated a non-dependency error")
	}
}
