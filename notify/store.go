package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// Notice states.
const (
	statusPending = "pending"
	statusSent    = "sent"
	statusFailed  = "failed"
)

// noticeRow is one notice (migrations/*/00008_notify.sql).
type noticeRow struct {
	ID            int64 `gorm:"primaryKey"`
	UserID        int64
	Kind          string
	SubjectKey    string
	Payload       string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LeaseUntil    *time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        *time.Time
}

func (noticeRow) TableName() string { return "notifications" }

type mailboxRow struct {
	ID             int64 `gorm:"primaryKey"`
	NotificationID int64
	MessageID      string
	Kind           string
	ToAddr         string
	Subject        string
	Headers        string
	TextBody       string
	HTMLBody       string
	CreatedAt      time.Time
}

func (mailboxRow) TableName() string { return "mailbox" }

func (r mailboxRow) toDomain(full bool) domain.MailMessage {
	m := domain.MailMessage{ID: r.ID, MessageID: r.MessageID, To: r.ToAddr, Subject: r.Subject, Kind: r.Kind, CreatedAt: r.CreatedAt.UTC()}
	if full {
		m.Headers, m.Text, m.HTML = r.Headers, r.TextBody, r.HTMLBody
	}
	return m
}

// store is the notifier's tables.
type store struct {
	db *gorm.DB
	pg bool
}

// notice is one notice to record: who, what kind, about what (the unique
// key), and the event or data it is rendered from. throttle, when set,
// keeps notices of the same kind and throttle key for one user at least
// that far apart, in event time.
type notice struct {
	UserID      int64
	Kind        domain.NoticeKind
	Key         string
	Payload     string
	At          time.Time
	ThrottleKey string
	Throttle    time.Duration
}

// record stores notices in one transaction, skipping those already
// recorded, those throttled, and optional ones the user turned off. It
// reports how many it added.
func (s *store) record(ctx context.Context, ns []notice, now time.Time) (int, error) {
	if len(ns) == 0 {
		return 0, nil
	}
	// One order for every transaction, so two notifiers never wait on each
	// other's rows in opposite orders.
	slices.SortFunc(ns, func(a, b notice) int {
		if a.UserID != b.UserID {
			return compare(a.UserID, b.UserID)
		}
		if a.Kind != b.Kind {
			return strings.Compare(string(a.Kind), string(b.Kind))
		}
		return strings.Compare(a.Key, b.Key)
	})
	var added int
	err := retryTx(ctx, func() error {
		added = 0
		return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			off, err := disabledKinds(tx, ns)
			if err != nil {
				return err
			}
			last, err := throttleTimes(tx, ns)
			if err != nil {
				return err
			}
			keep := make([]notice, 0, len(ns))
			for _, n := range ns {
				if off[prefKey{n.UserID, string(n.Kind)}] {
					continue
				}
				if n.Throttle > 0 {
					// last_at only moves forward, so a notice the read
					// already throttles is throttled whatever another
					// notifier did since; only the rest need the atomic
					// claim. In a storm that spares a statement for
					// nearly every outbid.
					k := throttleKey{n.UserID, string(n.Kind), n.ThrottleKey}
					if t, ok := last[k]; ok && t.After(n.At.Add(-n.Throttle)) {
						continue
					}
					ok, err := s.throttle(tx, n)
					if err != nil {
						return err
					}
					if !ok {
						continue
					}
					last[k] = n.At
				}
				keep = append(keep, n)
			}
			added, err = insertNotices(tx, keep, now)
			return err
		})
	})
	return added, err
}

// insertChunk bounds the rows of one INSERT: 7 parameters a row stays far
// below SQLite's and PostgreSQL's parameter limits.
const insertChunk = 200

// insertNotices adds ns as pending notices, a multi-row INSERT per chunk,
// skipping those already recorded, and reports how many were new.
func insertNotices(tx *gorm.DB, ns []notice, now time.Time) (int, error) {
	added := 0
	for chunk := range slices.Chunk(ns, insertChunk) {
		var q strings.Builder
		q.WriteString(`INSERT INTO notifications (user_id, kind, subject_key, payload, status, next_attempt_at, created_at) VALUES `)
		args := make([]any, 0, 7*len(chunk))
		for i, n := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, 'pending', ?, ?)")
			args = append(args, n.UserID, string(n.Kind), n.Key, n.Payload, now, now)
		}
		q.WriteString(" ON CONFLICT (user_id, kind, subject_key) DO NOTHING")
		res := tx.Exec(q.String(), args...)
		if res.Error != nil {
			return 0, res.Error
		}
		added += int(res.RowsAffected)
	}
	return added, nil
}

type throttleKey struct {
	user    int64
	kind    string
	subject string
}

// throttleTimes reads the throttle slots of the throttled notices in one
// query, by their exact keys: a user outbid on many lots has a slot per
// lot, and reading them all made the read cost more than it saved.
func throttleTimes(tx *gorm.DB, ns []notice) (map[throttleKey]time.Time, error) {
	last := map[throttleKey]time.Time{}
	var q strings.Builder
	var args []any
	seen := map[throttleKey]bool{}
	for _, n := range ns {
		k := throttleKey{n.UserID, string(n.Kind), n.ThrottleKey}
		if n.Throttle <= 0 || seen[k] {
			continue
		}
		seen[k] = true
		if len(args) > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?)")
		args = append(args, k.user, k.kind, k.subject)
	}
	if len(args) == 0 {
		return last, nil
	}
	var rows []struct {
		UserID     int64
		Kind       string
		SubjectKey string
		LastAt     time.Time
	}
	// A row-value IN list, which PostgreSQL and SQLite (3.15 on) both
	// match against the table's primary key.
	err := tx.Raw("SELECT user_id, kind, subject_key, last_at FROM notification_throttle WHERE (user_id, kind, subject_key) IN ("+q.String()+")", args...).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		last[throttleKey{r.UserID, r.Kind, r.SubjectKey}] = r.LastAt
	}
	return last, nil
}

func compare(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// throttle claims the throttle slot of n: true if no notice of its kind
// and throttle key went to the user within n.Throttle before n.At.
func (s *store) throttle(tx *gorm.DB, n notice) (bool, error) {
	var got []int64
	err := tx.Raw(`INSERT INTO notification_throttle (user_id, kind, subject_key, last_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, kind, subject_key) DO UPDATE SET last_at = excluded.last_at
		WHERE notification_throttle.last_at <= ? RETURNING user_id`,
		n.UserID, string(n.Kind), n.ThrottleKey, n.At.UTC(), n.At.Add(-n.Throttle).UTC()).Scan(&got).Error
	return len(got) > 0, err
}

type prefKey struct {
	user int64
	kind string
}

// disabledKinds returns the (user, kind) pairs among ns that are turned off.
func disabledKinds(tx *gorm.DB, ns []notice) (map[prefKey]bool, error) {
	var users []int64
	for _, n := range ns {
		if n.Kind.Optional() && (len(users) == 0 || users[len(users)-1] != n.UserID) {
			users = append(users, n.UserID)
		}
	}
	off := map[prefKey]bool{}
	if len(users) == 0 {
		return off, nil
	}
	var rows []struct {
		UserID int64
		Kind   string
	}
	if err := tx.Raw("SELECT user_id, kind FROM notification_prefs WHERE user_id IN ? AND NOT enabled", users).Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		off[prefKey{r.UserID, r.Kind}] = true
	}
	return off, nil
}

// countSince counts a user's notices of kind recorded since t, for the
// per-address limits of verification and reset mail.
func (s *store) countSince(ctx context.Context, userID int64, kind domain.NoticeKind, t time.Time) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&noticeRow{}).Where("user_id = ? AND kind = ? AND created_at >= ?", userID, string(kind), t).Count(&n).Error
	return n, err
}

// claim leases up to n due notices to the caller until now+lease. A
// notifier that dies mid-send leaves its lease to run out, and another
// takes the notice over.
func (s *store) claim(ctx context.Context, n int, lease time.Duration, now time.Time) ([]noticeRow, error) {
	lock, returning := "", "*"
	if s.pg {
		// noWait joins a row of its own, which RETURNING * would add.
		lock, returning = " FOR UPDATE SKIP LOCKED", "notifications.*"
	}
	var rows []noticeRow
	err := retryTx(ctx, func() error {
		return s.db.WithContext(ctx).Raw(`UPDATE notifications SET lease_until = ?, attempts = attempts + 1`+s.noWait()+`
			WHERE id IN (SELECT id FROM notifications WHERE status = 'pending' AND next_attempt_at <= ?
				AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_attempt_at, id LIMIT ?`+lock+`)
			RETURNING `+returning, now.Add(lease), now, now, n).Scan(&rows).Error
	})
	slices.SortFunc(rows, func(a, b noticeRow) int { return compare(a.ID, b.ID) })
	return rows, err
}

// markSent records delivery. It is the end of the one window in which a
// crash sends a notice twice: after the mail server accepted it, before
// this commits. It does not wait for the WAL flush (noWait), so the
// window also covers a crash of PostgreSQL itself in the next moment.
func (s *store) markSent(ctx context.Context, id int64, now time.Time) error {
	return s.db.WithContext(ctx).Exec("UPDATE notifications SET status = 'sent', sent_at = ?, lease_until = NULL, last_error = ''"+s.noWait()+" WHERE id = ?", now, id).Error
}

// noWait is a FROM item that lets a PostgreSQL UPDATE's transaction
// commit without waiting for its WAL to reach the disk (synchronous_commit
// off for that transaction alone; set_config's true scopes it to it). It
// is "" on SQLite.
//
// Only writes whose loss is harmless use it: a sent mark or a lease lost
// in a crash of the database server, at most wal_writer_delay × 3 (0.6 s by
// default) of them, makes the notice go out again with the same
// Message-ID, which is the documented double-send window (docs/EMAIL.md).
// In exchange each sent notice no longer costs a WAL flush, and the bids'
// group commits no longer queue behind one: on this 2-core machine a
// durable commit took 3–10 ms under load, and the bench's working phase
// sent about 50 notices a second (docs/BENCHMARKS.md).
func (s *store) noWait() string {
	if !s.pg {
		return ""
	}
	return " FROM (SELECT set_config('synchronous_commit', 'off', true)) AS nowait"
}

// markFailed records a permanent refusal; the notice is not retried.
func (s *store) markFailed(ctx context.Context, id int64, reason string) error {
	return s.db.WithContext(ctx).Exec("UPDATE notifications SET status = 'failed', lease_until = NULL, last_error = ? WHERE id = ?", truncate(reason, 500), id).Error
}

// retryLater puts a notice back for another attempt at next.
func (s *store) retryLater(ctx context.Context, id int64, next time.Time, reason string, countAttempt bool) error {
	q := "UPDATE notifications SET next_attempt_at = ?, lease_until = NULL, last_error = ?"
	if !countAttempt {
		// The server was not reached: this was no attempt at this notice.
		q += ", attempts = attempts - 1"
	}
	return s.db.WithContext(ctx).Exec(q+" WHERE id = ?", next, truncate(reason, 500), id).Error
}

// release gives back a claimed notice that was not tried (the node is
// stopping), at once rather than when its lease ends. attempts, which
// every claim increments, fences it: a notice whose lease ran out and that
// another worker claimed since is left alone.
func (s *store) release(ctx context.Context, r noticeRow) error {
	return s.db.WithContext(ctx).Exec("UPDATE notifications SET lease_until = NULL, attempts = attempts - 1 WHERE id = ? AND attempts = ? AND status = 'pending'",
		r.ID, r.Attempts).Error
}

// saveMail keeps a message in the development mailbox; a message already
// there (the same Message-ID, sent again after a crash) stays once.
func (s *store) saveMail(ctx context.Context, r mailboxRow) error {
	return s.db.WithContext(ctx).Exec(`INSERT INTO mailbox (notification_id, message_id, kind, to_addr, subject, headers, text_body, html_body, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING`,
		r.NotificationID, r.MessageID, r.Kind, r.ToAddr, r.Subject, r.Headers, r.TextBody, r.HTMLBody, r.CreatedAt).Error
}

func (s *store) mailbox(ctx context.Context, limit int) ([]domain.MailMessage, error) {
	var rows []mailboxRow
	if err := s.db.WithContext(ctx).Omit("headers", "text_body", "html_body").Order("id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]domain.MailMessage, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain(false)
	}
	return out, nil
}

func (s *store) mail(ctx context.Context, id int64) (domain.MailMessage, error) {
	var rows []mailboxRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return domain.MailMessage{}, err
	}
	if len(rows) == 0 {
		return domain.MailMessage{}, &domain.Error{Code: domain.CodeNotFound, Message: "No such message in the mailbox."}
	}
	return rows[0].toDomain(true), nil
}

// problems lists notices that failed for good, and pending ones that have
// failed at least once, newest first.
func (s *store) problems(ctx context.Context, limit int) ([]domain.MailFailure, error) {
	var rows []noticeRow
	err := s.db.WithContext(ctx).Where("status = 'failed' OR (status = 'pending' AND last_error <> '')").
		Order("id DESC").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]domain.MailFailure, len(rows))
	for i, r := range rows {
		out[i] = domain.MailFailure{ID: r.ID, UserID: r.UserID, Kind: domain.NoticeKind(r.Kind), Status: r.Status,
			Attempts: r.Attempts, LastError: r.LastError, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// prefs returns the kinds a user set explicitly.
func (s *store) prefs(ctx context.Context, userID int64) (map[domain.NoticeKind]bool, error) {
	var rows []struct {
		Kind    string
		Enabled bool
	}
	if err := s.db.WithContext(ctx).Raw("SELECT kind, enabled FROM notification_prefs WHERE user_id = ?", userID).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[domain.NoticeKind]bool, len(rows))
	for _, r := range rows {
		out[domain.NoticeKind(r.Kind)] = r.Enabled
	}
	return out, nil
}

func (s *store) setPref(ctx context.Context, userID int64, kind domain.NoticeKind, enabled bool) error {
	return s.db.WithContext(ctx).Exec(`INSERT INTO notification_prefs (user_id, kind, enabled) VALUES (?, ?, ?)
		ON CONFLICT (user_id, kind) DO UPDATE SET enabled = excluded.enabled`, userID, string(kind), enabled).Error
}

// linkKey returns the key links are signed with, making it on first use.
// Every node reads the same row, so a link made on one works on all.
func (s *store) linkKey(ctx context.Context, now time.Time) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if err := s.db.WithContext(ctx).Exec(`INSERT INTO notify_keys (name, secret, created_at) VALUES ('links', ?, ?)
		ON CONFLICT (name) DO NOTHING`, hex.EncodeToString(fresh), now).Error; err != nil {
		return nil, err
	}
	var secret string
	if err := s.db.WithContext(ctx).Raw("SELECT secret FROM notify_keys WHERE name = 'links'").Scan(&secret).Error; err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(secret)
	if err != nil || len(key) < 16 {
		return nil, errors.New("notify: the stored link key is malformed")
	}
	return key, nil
}

// retryTx retries a transaction that failed only because of concurrency.
func retryTx(ctx context.Context, attempt func() error) error {
	var err error
	for n := range 6 {
		err = attempt()
		if err == nil || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(n+1) * 5 * time.Millisecond):
		}
	}
	return err
}

func retryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40001" || pg.Code == "40P01"
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
