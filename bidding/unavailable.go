package bidding

import (
	"errors"

	"github.com/gavel-auctions/gavel/internal/outage"
)

// errCommitUnknown marks a batch whose connection failed while its COMMIT
// was on the way: the server may have committed it or not, and nobody can
// tell the callers which.
var errCommitUnknown = errors.New("bidding: the database connection failed during COMMIT")

// bidNotPlaced answers a bid that never committed because the database was
// unavailable: it was never judged, or its transaction failed before it
// could commit.
func bidNotPlaced(cause error) error {
	return outage.New(outage.Database,
		"Your bid was not placed: the database did not answer in time. Nothing was lost; please try again in a few seconds.", cause)
}

// bidUnconfirmed answers a bid whose outcome is unknown: its batch was
// committing when the caller's wait ended, or the connection failed during
// COMMIT.
func bidUnconfirmed(cause error) error {
	return outage.New(outage.Database,
		"Your bid could not be confirmed in time; it may still have been placed. Check the auction, or send it again with the same Idempotency-Key to get its receipt.", cause)
}
