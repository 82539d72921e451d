package chaos

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A Fault is one thing that goes wrong: injected at Start, healed at Heal.
type Fault struct {
	Name string
	// Stalls lists the nodes that cannot answer during the fault (paused or
	// killed): requests to them are not held to the wait bound.
	Stalls []string
	// Target is what recovery is measured against: bids must flow again and
	// events reach watchers within it of Start (0: no target, reported
	// only).
	Target time.Duration
	Hold   time.Duration // how long the fault lasts

	Start, Heal time.Time

	inject, heal func(ctx context.Context, c *Cluster) error
}

// Faults returns the fault schedule: every fault of the list, or
// (short) one kill and one outage.
func Faults(c *Cluster, short bool) []*Fault {
	api, rt := c.APINodes(), c.StreamNodes()
	a, r := api[0], rt[0]
	kill := func(n *NodeProc, hold time.Duration) *Fault {
		return &Fault{Name: "kill -9 " + n.Service, Stalls: []string{n.Service}, Hold: hold,
			inject: func(context.Context, *Cluster) error { return n.Kill() },
			heal: func(ctx context.Context, c *Cluster) error {
				if err := n.Start(); err != nil {
					return err
				}
				return c.WaitReady(ctx, n, 2*time.Minute)
			}}
	}
	pgRestart := &Fault{Name: "PostgreSQL restart -m fast",
		inject: func(ctx context.Context, c *Cluster) error { return c.PG.Restart(ctx, "fast") },
		heal:   func(context.Context, *Cluster) error { return nil }}
	if short {
		return []*Fault{kill(a, 3*time.Second), pgRestart}
	}
	natsKill := func(name string, procs []*Process, hold time.Duration) *Fault {
		return &Fault{Name: name, Hold: hold,
			inject: func(context.Context, *Cluster) error { return each(procs, (*Process).Kill) },
			heal: func(ctx context.Context, c *Cluster) error {
				if err := each(procs, (*Process).Start); err != nil {
					return err
				}
				// Healed means the event stream answers again: after all
				// three restart, JetStream elects its leaders (seconds, more
				// on a loaded machine) before anything can be published,
				// and the next fault must not start before that.
				return c.WaitStream(ctx, 2*time.Minute)
			}}
	}
	return []*Fault{
		kill(a, 5*time.Second),
		kill(r, 5*time.Second),
		natsKill("1 of 3 NATS servers down ("+c.NATS[1].Name+")", c.NATS[1:2], 10*time.Second),
		natsKill("all 3 NATS servers down", c.NATS, 15*time.Second),
		pgRestart,
		{Name: "PostgreSQL kill -9", Hold: 3 * time.Second,
			inject: func(ctx context.Context, c *Cluster) error { return c.PG.Kill(ctx) },
			heal:   func(ctx context.Context, c *Cluster) error { return c.PG.Start(ctx) }},
		{Name: "SIGSTOP " + api[len(api)-1].Service + " for 30s", Stalls: []string{api[len(api)-1].Service}, Hold: 30 * time.Second, Target: 6 * time.Second,
			inject: func(context.Context, *Cluster) error { return api[len(api)-1].Pause() },
			heal:   func(context.Context, *Cluster) error { return api[len(api)-1].Resume() }},
		pgPause(25 * time.Second),
	}
}

func pgPause(hold time.Duration) *Fault {
	var (
		mu   sync.Mutex
		pids []int
	)
	return &Fault{Name: fmt.Sprintf("SIGSTOP PostgreSQL for %s", hold), Hold: hold,
		inject: func(_ context.Context, c *Cluster) error {
			mu.Lock()
			defer mu.Unlock()
			var err error
			pids, err = c.PG.Pause()
			return err
		},
		heal: func(_ context.Context, c *Cluster) error {
			mu.Lock()
			defer mu.Unlock()
			return c.PG.Resume(pids)
		}}
}

func each(procs []*Process, f func(*Process) error) error {
	var errs []error
	for _, p := range procs {
		errs = append(errs, f(p))
	}
	return errors.Join(errs...)
}

// Apply injects f, holds it, and heals it, recording when.
func (f *Fault) Apply(ctx context.Context, c *Cluster) error {
	c.logf("fault      %s", f.Name)
	f.Start = time.Now()
	if err := f.inject(ctx, c); err != nil {
		return fmt.Errorf("%s: inject: %w", f.Name, err)
	}
	if !sleep(ctx, f.Hold) {
		return ctx.Err()
	}
	if err := f.heal(ctx, c); err != nil {
		return fmt.Errorf("%s: heal: %w", f.Name, err)
	}
	f.Heal = time.Now()
	c.logf("healed     %s after %s", f.Name, f.Heal.Sub(f.Start).Round(time.Millisecond))
	return nil
}

// WaitStream waits, within timeout, until Gavel's JetStream stream has a
// leader and answers.
func (c *Cluster) WaitStream(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if last = streamAnswers(ctx, c); last == nil {
			return nil
		}
		if !sleep(ctx, 250*time.Millisecond) {
			return fmt.Errorf("the JetStream stream did not answer within %s: %w", timeout, last)
		}
	}
}

func streamAnswers(ctx context.Context, c *Cluster) error {
	return withStream(ctx, c, func(_ jetstream.JetStream, s jetstream.Stream) error {
		if info := s.CachedInfo(); info.Cluster != nil && info.Cluster.Leader == "" {
			return errors.New("the stream has no leader yet")
		}
		return nil
	})
}
