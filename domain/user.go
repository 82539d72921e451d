package domain

import "time"

// User is an account. Any user may both sell and bid.
type User struct {
	ID        int64
	Email     string
	Name      string
	Admin     bool
	Suspended bool
	CreatedAt time.Time
}

// AuditEntry is one append-only record of an administrator's action.
type AuditEntry struct {
	ID        int64     `json:"id"`
	ActorID   int64     `json:"actor_id"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"` // "cancel_auction", "suspend_user"
	TargetID  int64     `json:"target_id"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
}
