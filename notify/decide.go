package notify

import (
	"strconv"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// EventEndingSoon is the watchlist reminder that the discovery capability
// emits on the user's channel; the notifier turns it into the "ending
// soon" email whenever it appears.
const EventEndingSoon domain.EventType = "ending_soon"

// OutbidInterval is the least time between two outbid emails to one user
// about one lot.
const OutbidInterval = 10 * time.Minute

// decide returns the notices one committed event causes. payload is the
// event as published; it is stored with the notice and rendered at send
// time. It is a pure function of the event, so a redelivered event
// decides the same notices, which the unique key then drops.
func decide(e domain.Event, payload string) []notice {
	auction := "auction:" + strconv.FormatInt(e.AuctionID, 10)
	at := e.CommittedAt
	one := func(user int64, kind domain.NoticeKind, key string) []notice {
		if user <= 0 {
			return nil
		}
		return []notice{{UserID: user, Kind: kind, Key: key, Payload: payload, At: at}}
	}
	switch e.Type {
	case domain.EventOutbid:
		// Keyed by the event, throttled by the lot: a redelivery is the
		// same notice, a later outbid within the interval is none.
		ns := one(e.UserID, domain.NoticeOutbid, e.ID)
		for i := range ns {
			ns[i].ThrottleKey, ns[i].Throttle = auction, OutbidInterval
		}
		return ns
	case domain.EventWon:
		return one(e.UserID, domain.NoticeWon, auction)
	case domain.EventClosed:
		if e.Winner != "" {
			return one(e.SellerID, domain.NoticeSold, auction)
		}
		return one(e.SellerID, domain.NoticeUnsold, auction)
	case EventEndingSoon:
		return one(e.UserID, domain.NoticeEndingSoon, auction+":"+e.EndsAt.UTC().Format(time.RFC3339))
	case domain.EventBidCancelled:
		return one(e.UserID, domain.NoticeBidCancelled, "bid:"+strconv.FormatInt(e.BidID, 10))
	case domain.EventSuspended:
		return one(e.UserID, domain.NoticeSuspended, e.ID)
	case domain.EventReinstated:
		return one(e.UserID, domain.NoticeReinstated, e.ID)
	}
	return nil
}
