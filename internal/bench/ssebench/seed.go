package ssebench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/domain"
)

// seed creates the seller, the watcher users (16 streams each) and two
// bidders, and the auction every stream watches. It returns the users'
// emails: the watchers first, then the two bidders.
func (b *sseBench) seed(ctx context.Context, svc *bidding.Service) (emails []string, users int, err error) {
	users = (b.o.conns + b.o.perUser - 1) / b.o.perUser
	b.logf("creating %d users", users+3)
	seller, err := svc.CreateUser(ctx, "seller@sse.bench", "bench-password", "Seller", false)
	if err != nil {
		return nil, 0, err
	}
	emails = make([]string, users+2)
	err = parallel(ctx, 8, len(emails), func(i int) error {
		emails[i] = fmt.Sprintf("w%d@sse.bench", i)
		_, err := svc.CreateUser(ctx, emails[i], "bench-password", fmt.Sprintf("Watcher %d", i), false)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	a, err := svc.CreateAuction(ctx, seller, domain.AuctionInput{Title: "Fan-out lot", Currency: "EUR", StartPrice: 100,
		EndsAt: time.Now().Add(b.o.maxRun + time.Hour)})
	if err != nil {
		return nil, 0, err
	}
	b.auction = a.ID
	b.path = fmt.Sprintf("/stream/auctions/%d", a.ID)
	return emails, users, nil
}

// loginAll logs every user in through b.apiURL, clientFor(i) making user
// i's request, and reads the auction's next minimum bid.
func (b *sseBench) loginAll(ctx context.Context, emails []string, users int, clientFor func(i int) *http.Client) error {
	b.logf("logging in %d users through %s", len(emails), b.apiURL)
	cookies := make([]string, len(emails))
	err := parallel(ctx, 16, len(emails), func(i int) error {
		var err error
		cookies[i], err = b.login(ctx, clientFor(i), emails[i])
		return err
	})
	if err != nil {
		return err
	}
	b.bidders = [2]string{cookies[users], cookies[users+1]}
	b.cookies = cookies[:users]
	var view struct {
		MinNextBid int64 `json:"min_next_bid"`
	}
	if err := b.api(ctx, http.MethodGet, fmt.Sprintf("/api/v1/auctions/%d", b.auction), "", nil, http.StatusOK, &view); err != nil {
		return err
	}
	b.minNext = view.MinNextBid
	return nil
}

// sourceClient is an HTTP client whose connections come from the loopback
// address src: a node's per-address login limit then counts each source
// apart, as it would count distinct users' machines.
func sourceClient(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4}}
}

// startClients starts the client processes: one set for the realtime
// nodes and, unless the floor is skipped, one for the floor servers.
func (b *sseBench) startClients(ctx context.Context) error {
	for i := range b.o.clients {
		for _, floor := range []bool{false, true} {
			if floor && b.o.skipFloor {
				continue
			}
			name := fmt.Sprintf("client%d", i+1)
			if floor {
				name = fmt.Sprintf("floorclient%d", i+1)
			}
			args := []string{"bench", "sse", "client", "--name", name, "--max-life", b.o.maxRun.String()}
			if b.o.profile != "" && !floor {
				args = append(args, "--cpuprofile", filepath.Join(b.o.profile, name+".cpu.pprof"))
			}
			var env []string
			if b.o.killNode {
				// A stream's goroutine waits, tiny, while an epoll reader
				// holds it, and the GC would shrink its stack; its next
				// dial would grow it again (copystack was ~7% of the
				// clients' CPU in the reconnect storm).
				env = []string{"GODEBUG=gcshrinkstackoff=1"}
			}
			p, err := b.start(ctx, name, args, env, true, b.o.clientNice)
			if err != nil {
				return err
			}
			if floor {
				b.floorWorkers = append(b.floorWorkers, p)
			} else {
				b.workers = append(b.workers, p)
			}
		}
	}
	return nil
}
