package hostile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The actors of the authorization matrix, in the order of its columns.
var actorNames = []string{"anon", "newcomer", "seller", "bidder", "rival", "suspended", "admin"}

// actor is one kind of visitor: anonymous, or logged in as someone with a
// relation to the world's auction.
type actor struct {
	name   string
	acct   Account
	id     int64
	cookie string
	c      *client
}

// Sentinels: amounts and names that only some viewers may see, chosen so
// that they appear nowhere else by chance.
const (
	reserveSentinel = 777331 // the seller's reserve on the world's auction
	maxSentinel     = 555229 // the bidder's proxy maximum on it
	password        = "hostile-suite-pw"
)

// world is what the suite attacks: a node, its actors, and an open auction
// with a reserve and a proxy bid (the hidden things to look for).
type world struct {
	node    *Node
	pool    *ipPool
	tag     string // random, in every email and name of this world
	actors  map[string]*actor
	auction int64 // the seller's open auction, bid on by rival then bidder
	bid     int64 // rival's bid on it
	mail    int64 // a message in the development mailbox
	setup   *client
}

func randomTag() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newWorld starts a node with an administrator and builds the world.
func newWorld(ctx context.Context, o NodeOptions) (*world, error) {
	w := &world{pool: &ipPool{}, tag: randomTag(), actors: map[string]*actor{}}
	admin := w.account("admin")
	o.Admin = admin
	n, err := StartNode(ctx, o)
	if err != nil {
		return nil, err
	}
	w.node = n
	w.setup = newClient(n.URL, w.pool.take(), 4)
	if err := w.build(ctx, admin); err != nil {
		n.Stop()
		return nil, fmt.Errorf("set up the world: %w\n%s", err, n.LogTail(30))
	}
	return w, nil
}

func (w *world) close() { w.node.Stop() }

// account is the credentials of a new person of this world; the email and
// name carry the world's tag so that a leak scan can find them.
func (w *world) account(role string) Account {
	return Account{
		Email:    fmt.Sprintf("%s-%s@hostile.example", role, w.tag),
		Password: password,
		Name:     fmt.Sprintf("%s %s", strings.ToUpper(role[:1])+role[1:], w.tag),
	}
}

func (w *world) build(ctx context.Context, admin Account) error {
	for _, name := range actorNames {
		a := &actor{name: name, c: newClient(w.node.URL, w.pool.take(), 8)}
		w.actors[name] = a
		if name == "anon" {
			continue
		}
		a.acct = w.account(name)
		if name == "admin" {
			a.acct = admin
		} else {
			id, err := w.register(ctx, a.acct)
			if err != nil {
				return err
			}
			a.id = id
		}
		if err := w.login(ctx, a); err != nil {
			return err
		}
	}
	var err error
	if w.auction, err = w.newAuction(ctx, `"reserve_price": `+strconv.Itoa(reserveSentinel)); err != nil {
		return err
	}
	if w.bid, err = w.placeBid(ctx, w.actors["rival"], w.auction, ""); err != nil {
		return err
	}
	if _, err := w.placeBid(ctx, w.actors["bidder"], w.auction, strconv.Itoa(maxSentinel)); err != nil {
		return err
	}
	if err := w.suspend(ctx, w.actors["suspended"].id); err != nil {
		return err
	}
	return w.findMail(ctx)
}

// findMail waits for a message in the development mailbox (registrations
// send verification mail) and notes its id.
func (w *world) findMail(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := w.expect(ctx, w.actors["admin"], request{Method: "GET", Path: "/api/v1/admin/mail"}, 200)
		if err != nil {
			return err
		}
		var box struct {
			Messages []struct{ ID int64 } `json:"messages"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &box); err != nil {
			return fmt.Errorf("admin mail: %w", err)
		}
		if len(box.Messages) > 0 {
			w.mail = box.Messages[0].ID
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("no message reached the development mailbox in 30 s")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// expect sends r as a and checks the status.
func (w *world) expect(ctx context.Context, a *actor, r request, want int) (response, error) {
	if a != nil && r.Cookie == "" {
		r.Cookie = a.cookie
	}
	c := w.setup
	if a != nil {
		c = a.c
	}
	resp := c.do(ctx, r)
	if resp.Err != nil {
		return resp, fmt.Errorf("%s %s: %w", r.Method, r.Path, resp.Err)
	}
	if resp.Status != want {
		return resp, fmt.Errorf("%s %s: %d %.300s, want %d", r.Method, r.Path, resp.Status, resp.Body, want)
	}
	return resp, nil
}

// register creates an account from an address of its own (registrations
// are limited per IP) and returns its id.
func (w *world) register(ctx context.Context, acct Account) (int64, error) {
	c := newClient(w.node.URL, w.pool.take(), 1)
	defer c.close()
	body, _ := json.Marshal(map[string]string{"email": acct.Email, "password": acct.Password, "name": acct.Name})
	resp := c.do(ctx, request{Method: "POST", Path: "/api/v1/users", Body: string(body)})
	if resp.Err != nil || resp.Status != 201 {
		return 0, fmt.Errorf("register %s: %d %v %.200s", acct.Email, resp.Status, resp.Err, resp.Body)
	}
	var u struct{ ID int64 }
	if err := json.Unmarshal([]byte(resp.Body), &u); err != nil || u.ID == 0 {
		return 0, fmt.Errorf("register %s: %q", acct.Email, resp.Body)
	}
	return u.ID, nil
}

// login gives a a fresh session.
func (w *world) login(ctx context.Context, a *actor) error {
	cookie, err := w.session(ctx, a)
	a.cookie = cookie
	return err
}

// session logs a in from its own address and returns the new session.
func (w *world) session(ctx context.Context, a *actor) (string, error) {
	body, _ := json.Marshal(map[string]string{"email": a.acct.Email, "password": a.acct.Password})
	resp := a.c.do(ctx, request{Method: "POST", Path: "/api/v1/session", Body: string(body)})
	if resp.Err != nil || resp.Status != 200 {
		return "", fmt.Errorf("log in %s: %d %v %.200s", a.acct.Email, resp.Status, resp.Err, resp.Body)
	}
	cookie := sessionCookie(resp.Header)
	if cookie == "" {
		return "", fmt.Errorf("log in %s: no session cookie", a.acct.Email)
	}
	return cookie, nil
}

// newAuction lists an open auction of the seller, ending in an hour, with
// extra JSON members, and returns its id.
func (w *world) newAuction(ctx context.Context, extra string) (int64, error) {
	body := fmt.Sprintf(`{"title": "Hostile lot %s", "description": "A lot for the hostile-client suite.", "currency": "EUR", "start_price": 1000, "ends_at": %q`,
		w.tag, time.Now().UTC().Add(time.Hour).Format(time.RFC3339))
	if extra != "" {
		body += ", " + extra
	}
	resp, err := w.expect(ctx, w.actors["seller"], request{Method: "POST", Path: "/api/v1/auctions", Body: body + "}"}, 201)
	if err != nil {
		return 0, err
	}
	var a struct{ ID int64 }
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil || a.ID == 0 {
		return 0, fmt.Errorf("new auction: %q", resp.Body)
	}
	return a.ID, nil
}

// minNextBid reads an auction's minimum next bid.
func (w *world) minNextBid(ctx context.Context, auction int64) (int64, error) {
	resp, err := w.expect(ctx, nil, request{Method: "GET", Path: fmt.Sprintf("/api/v1/auctions/%d", auction)}, 200)
	if err != nil {
		return 0, err
	}
	var a struct {
		MinNextBid int64 `json:"min_next_bid"`
	}
	err = json.Unmarshal([]byte(resp.Body), &a)
	return a.MinNextBid, err
}

// placeBid bids the minimum as a (with a proxy maximum if max is not
// empty) and returns the bid's id.
func (w *world) placeBid(ctx context.Context, a *actor, auction int64, max string) (int64, error) {
	min, err := w.minNextBid(ctx, auction)
	if err != nil {
		return 0, err
	}
	body := fmt.Sprintf(`{"amount": %d`, min)
	if max != "" {
		body += `, "max_amount": ` + max
	}
	resp, err := w.expect(ctx, a, request{Method: "POST", Path: fmt.Sprintf("/api/v1/auctions/%d/bids", auction), Body: body + "}"}, 201)
	if err != nil {
		return 0, err
	}
	var r struct {
		BidID int64 `json:"bid_id"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &r); err != nil || r.BidID == 0 {
		return 0, fmt.Errorf("bid: %q", resp.Body)
	}
	return r.BidID, nil
}

// suspend has the admin suspend a user.
func (w *world) suspend(ctx context.Context, id int64) error {
	_, err := w.expect(ctx, w.actors["admin"], request{Method: "POST", Path: fmt.Sprintf("/api/v1/admin/users/%d/suspend", id), Body: `{"reason": "hostile suite"}`}, 204)
	return err
}

// freshUser registers someone new and returns their id and account.
func (w *world) freshUser(ctx context.Context) (int64, Account, error) {
	acct := w.account("victim" + randomTag())
	id, err := w.register(ctx, acct)
	return id, acct, err
}

// form encodes form values.
func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}
