package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/web"
)

// Demo accounts, printed at start-up and in the README.
const (
	demoPassword  = "gavel-demo"
	demoAdmin     = "admin@gavel.local"
	demoSeller    = "seller@gavel.local"
	demoBidder    = "bidder@gavel.local"
	demoOpenCount = 4
)

// demoAccounts are listed on the login page while the demo runs.
var demoAccounts = []web.DemoAccount{
	{Role: "Bidder", Email: demoBidder, Password: demoPassword},
	{Role: "Seller (owns the demo auctions)", Email: demoSeller, Password: demoPassword},
	{Role: "Admin (opens the monitor)", Email: demoAdmin, Password: demoPassword},
}

var demoItems = []struct {
	title, desc string
	start       int64
}{
	{"Brass ship's clock", "A working 1930s brass bulkhead clock, wound weekly.", 2500},
	{"Signed first edition", "A first edition with the author's signature on the title page.", 8000},
	{"Mid-century armchair", "Teak frame, reupholstered in green wool.", 12000},
	{"Vintage film camera", "35mm rangefinder with its original leather case.", 4500},
	{"Hand-thrown tea set", "Stoneware teapot and four cups, ash glaze.", 3000},
	{"Antique globe", "A 19th-century terrestrial globe on a walnut stand.", 15000},
}

// demoSetting marks a database the demo seeded (bidding settings), so that
// "auto" keeps the demo running on every later start.
const demoSetting = "demo"

// demoEnabled decides demo mode: on when asked for; with "auto", only on
// the embedded defaults (no DATABASE_URL), and there on an empty database
// or one the demo seeded before, so it never touches a real deployment
// unless asked and a demo site stays live across restarts.
func demoEnabled(ctx context.Context, cfg config.Config, svc *bidding.Service) bool {
	switch cfg.Demo {
	case config.DemoOn:
		return true
	case config.DemoOff:
		return false
	}
	if cfg.DatabaseURL != "" {
		return false
	}
	if v, err := svc.Setting(ctx, demoSetting); err == nil && v == "true" {
		return true
	}
	users, err := svc.Users(ctx, 1)
	if err != nil {
		return false
	}
	if len(users) == 0 {
		return true
	}
	// A data directory an older Gavel seeded has the demo accounts but no
	// mark: the demo seller still signs in with the published password.
	_, err = svc.Authenticate(ctx, demoSeller, demoPassword)
	return err == nil
}

// startDemo seeds accounts (once), marks the database as a demo one, and
// runs simulated bidders on short auctions, recycled as they end, until
// jobCtx ends, so a newcomer sees prices move at once and on every start.
func startDemo(ctx context.Context, n *node, jobCtx context.Context) error {
	svc := n.svc
	ensure := func(email, name string, admin bool) (domain.User, error) {
		u, err := svc.CreateUser(ctx, email, demoPassword, name, admin)
		if errors.Is(err, domain.ErrEmailTaken) {
			return svc.Authenticate(ctx, email, demoPassword)
		}
		return u, err
	}
	if _, err := ensure(demoAdmin, "Demo Admin", true); err != nil {
		return err
	}
	seller, err := ensure(demoSeller, "Demo Seller", false)
	if err != nil {
		return err
	}
	if err := demoSellerSettings(ctx, n, seller); err != nil {
		return err
	}
	if _, err := ensure(demoBidder, "Demo Bidder", false); err != nil {
		return err
	}
	var bots []domain.User
	for _, name := range []string{"Robo Ada", "Robo Grace", "Robo Linus"} {
		u, err := ensure("bot-"+name[5:]+"@gavel.local", name, false)
		if err != nil {
			return err
		}
		bots = append(bots, u)
	}
	if err := svc.PutSetting(ctx, demoSetting, "true"); err != nil {
		return err
	}
	n.log.Info("demo mode: sample auctions and simulated bidders are running",
		"log in as", demoBidder, "or", demoSeller, "or admin", demoAdmin, "password", demoPassword)
	photos := demoPhotos(n, seller)
	cats := demoCategoryIDs(ctx, n)
	n.run(func() { runDemo(jobCtx, svc, seller, bots, cats, photos) })
	startDemoSale(n, jobCtx, seller, bots)
	return nil
}

func runDemo(ctx context.Context, svc *bidding.Service, seller domain.User, bots []domain.User, cats map[string]*int64,
	photos func(context.Context, domain.Auction, int)) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	next := 0
	for {
		open, err := svc.Auctions(ctx, domain.AuctionFilter{Status: []domain.Status{domain.StatusOpen}, SellerID: seller.ID, NoLots: true})
		if err == nil {
			for i := len(open); i < demoOpenCount; i++ {
				item := demoItems[next%len(demoItems)]
				soft := 30
				a, err := svc.CreateAuction(ctx, seller, domain.AuctionInput{
					Title: item.title, Description: item.desc, Currency: "EUR", StartPrice: item.start,
					ReservePrice: item.start * 3, EndsAt: time.Now().Add(time.Duration(3+rng.IntN(6)) * time.Minute),
					SoftCloseSeconds: &soft, CategoryID: cats[item.title],
				})
				if err == nil {
					photos(ctx, a, next%len(demoItems))
				}
				next++
			}
			if len(open) > 0 {
				a := open[rng.IntN(len(open))]
				bot := bots[rng.IntN(len(bots))]
				in := domain.BidInput{Amount: domain.MinNextBid(a)}
				if rng.IntN(3) == 0 {
					in.MaxAmount = in.Amount + int64(rng.IntN(10)+1)*domain.IncrementAt(a, a.CurrentPrice)
				}
				_, _ = svc.PlaceBid(ctx, bot, a.ID, in)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(2000+rng.IntN(4000)) * time.Millisecond):
		}
	}
}
