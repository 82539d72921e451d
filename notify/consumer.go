package notify

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gavel-auctions/gavel/domain"
)

// ConsumerName is the durable JetStream consumer every notifier shares:
// JetStream hands each event to one of them, and redelivers what was not
// acknowledged, so a notifier that dies loses nothing.
const ConsumerName = "gavel-notify"

// FilterSubjects are the events notices come from: personal events, the
// suspension control events, and auction events (for "closed"), a sale's
// lots' included.
var FilterSubjects = []string{"gavel.user.*", "gavel.control.suspended.*", domain.AuctionSubjectsAll, domain.LotSubjectsAll}

// ConsumerOptions tune Consume.
type ConsumerOptions struct {
	Batch   int           // events fetched at once; default 256
	MaxWait time.Duration // how long a fetch waits to fill its batch; default 250ms
	AckWait time.Duration // redelivery delay of an unacknowledged event; default 30s
}

// EnsureConsumer creates the durable consumer if it does not exist, and
// gives an existing one today's FilterSubjects. A new consumer starts at
// the present: events from before the notifier first ran are not turned
// into email.
func EnsureConsumer(ctx context.Context, js jetstream.JetStream, o ConsumerOptions) (jetstream.Consumer, error) {
	if o.AckWait <= 0 {
		o.AckWait = 30 * time.Second
	}
	stream, err := js.Stream(ctx, domain.StreamName)
	if err != nil {
		return nil, err
	}
	if c, err := stream.Consumer(ctx, ConsumerName); err == nil {
		return updateFilters(ctx, stream, c)
	} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, err
	}
	start := time.Now().UTC()
	c, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:        ConsumerName,
		Description:    "Gavel notifier: email for personal and closing events",
		FilterSubjects: FilterSubjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        o.AckWait,
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &start,
		MaxAckPending:  20000,
	})
	if errors.Is(err, jetstream.ErrConsumerExists) {
		return stream.Consumer(ctx, ConsumerName)
	}
	return c, err
}

// updateFilters gives a consumer created by an older version today's
// FilterSubjects (such as the lots of sales), keeping its position.
func updateFilters(ctx context.Context, stream jetstream.Stream, c jetstream.Consumer) (jetstream.Consumer, error) {
	cfg := c.CachedInfo().Config
	if slices.Equal(cfg.FilterSubjects, FilterSubjects) {
		return c, nil
	}
	cfg.FilterSubject, cfg.FilterSubjects = "", FilterSubjects
	return stream.UpdateConsumer(ctx, cfg)
}

// Consume turns events from c into recorded notices until ctx ends. Each
// fetched batch is recorded in one transaction and acknowledged only after
// it committed; a failure leaves the batch unacknowledged, and JetStream
// delivers it again.
func (s *Service) Consume(ctx context.Context, c jetstream.Consumer, o ConsumerOptions) {
	if o.Batch <= 0 {
		o.Batch = 256
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 250 * time.Millisecond
	}
	failing := false
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		// While bids flow, small batches: a batch is one transaction of
		// up to a statement per notice, and a long one is a stall that
		// shows in the bids' p99 even though the work is the same.
		n := o.Batch
		if s.bidsFlowing() {
			n = max(1, o.Batch/8)
		}
		batch, err := c.Fetch(n, jetstream.FetchMaxWait(o.MaxWait))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				s.log.Warn("notifier cannot fetch events; retrying", "err", err)
			}
			failing = true
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
			sleep(ctx, backoff)
			continue
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			s.log.Debug("fetch ended early", "err", err)
		}
		if len(msgs) == 0 {
			continue
		}
		if err := s.handle(ctx, msgs); err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				s.log.Warn("notifier cannot record notices; events will be redelivered", "err", err)
			}
			failing = true
			for _, m := range msgs {
				_ = m.Nak()
			}
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
			sleep(ctx, backoff)
			continue
		}
		if failing {
			s.log.Info("notifier recording again")
		}
		failing, backoff = false, 0
		for _, m := range msgs {
			_ = m.Ack()
		}
		// While bids are judged, recording waits between batches like
		// sending does: the events wait in JetStream, and the next
		// fetch takes more of them in one transaction.
		if !s.yieldToBids(ctx) {
			return
		}
	}
}

// handle decides and records the notices of a batch of events.
func (s *Service) handle(ctx context.Context, msgs []jetstream.Msg) error {
	var ns []notice
	for _, m := range msgs {
		var e domain.Event
		if err := json.Unmarshal(m.Data(), &e); err != nil {
			s.log.Warn("notifier skips an event it cannot decode", "subject", m.Subject(), "err", err)
			continue
		}
		ns = append(ns, decide(e, string(m.Data()))...)
	}
	added := 0
	for i := 0; i < len(ns); i += recordChunk {
		// Between two transactions, bids that began meanwhile go first.
		if i > 0 && !s.yieldToBids(ctx) {
			return ctx.Err()
		}
		n, err := s.record(ctx, ns[i:min(i+recordChunk, len(ns))])
		if err != nil {
			return err
		}
		added += n
	}
	if added > 0 {
		s.poke()
	}
	return nil
}

// recordChunk bounds the notices recorded in one transaction. A notice
// can cost a statement (its throttle slot), and a transaction of a whole
// batch (256 events) that is under way when a storm begins is a stall the
// bids' p99 shows; in chunks, the consumer yields to bids between them.
// The batch is still acknowledged only once every chunk committed.
const recordChunk = 32

// record stores notices (see decide) and reports how many were new.
func (s *Service) record(ctx context.Context, ns []notice) (int, error) {
	return s.st.record(ctx, ns, s.now())
}

// HandleEvents decides and records the notices of events as the consumer
// would; tools and tests that feed events directly use it.
func (s *Service) HandleEvents(ctx context.Context, events []domain.Event) (int, error) {
	var ns []notice
	for _, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			return 0, err
		}
		ns = append(ns, decide(e, string(data))...)
	}
	n, err := s.record(ctx, ns)
	if n > 0 {
		s.poke()
	}
	return n, err
}
