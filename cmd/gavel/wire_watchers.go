package main

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/web"
)

// natsWatchers asks every realtime node (domain.WatchersSubject) how many
// streams watch some auctions and adds up the answers.
type natsWatchers struct{ nc *nats.Conn }

var _ web.Watchers = natsWatchers{}

const (
	// watchersWait bounds the wait for the first answer: no realtime node
	// answering in that time is an error, not "nobody watches".
	watchersWait = time.Second
	// watchersQuiet ends the gathering once no further node has answered
	// for this long: nodes answer at once and together, so a quiet gap
	// means every node that will answer has.
	watchersQuiet = 50 * time.Millisecond
)

// Watching scatters one request and gathers the nodes' replies, one per
// node, within watchersWait.
func (w natsWatchers) Watching(ctx context.Context, ids []int64, exclude int64) (map[int64]int64, error) {
	if len(ids) > domain.MaxWatchersRequest {
		ids = ids[:domain.MaxWatchersRequest]
	}
	data, err := json.Marshal(domain.WatchersRequest{AuctionIDs: ids, ExcludeUser: exclude})
	if err != nil {
		return nil, err
	}
	inbox := w.nc.NewRespInbox()
	sub, err := w.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := w.nc.PublishRequest(domain.WatchersSubject, inbox, data); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, watchersWait)
	defer cancel()
	out := map[int64]int64{}
	seen := map[string]bool{}
	wait := watchersWait
	for {
		mctx, mcancel := context.WithTimeout(ctx, wait)
		msg, err := sub.NextMsgWithContext(mctx)
		mcancel()
		if err != nil {
			if len(seen) == 0 {
				return nil, errors.New("no realtime node answered")
			}
			return out, nil
		}
		var r domain.WatchersReply
		if json.Unmarshal(msg.Data, &r) != nil || seen[r.Node] {
			continue
		}
		seen[r.Node] = true
		for id, n := range r.Watchers {
			out[id] += n
		}
		wait = watchersQuiet
	}
}
