package bidding

import (
	"context"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// readUsers reads the users among ids in one query, for UserByID calls
// that miss the cache at the same time (every request reads its session's
// user; a reconnect storm reads thousands at once), and caches them. A
// user this node changed while the query was in flight (a suspension, a
// verified email) is not cached from it: ttlcache's fences keep the
// change from being undone by the older read.
func (s *Service) readUsers(ctx context.Context, ids []int64) (map[int64]domain.User, error) {
	began := s.users.Begin()
	now := s.now()
	var rows []userRow
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	if s.userReadDone != nil {
		s.userReadDone()
	}
	out := make(map[int64]domain.User, len(rows))
	for _, r := range rows {
		u := r.toDomain()
		out[r.ID] = u
		s.users.Fill(r.ID, u, began, now, time.Time{})
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			s.users.Miss(id, began)
		}
	}
	return out, nil
}
