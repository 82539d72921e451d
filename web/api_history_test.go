package web

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
)

// TestHistoryVisibility is the leak test of the bid history: everyone sees
// aliases and automatic bids; a leader's raise (and its hidden maximum)
// only its bidder and admins; the people behind the aliases only the
// seller and admins; and only someone who has bid is told they are not the
// highest bidder.
func TestHistoryVisibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("root@example.com", "Root", true)
	e.mustUser("sel@example.com", "Sel", false)
	e.mustUser("ann@example.com", "Ann Real-Name", false)
	e.mustUser("bob@example.com", "Bob Real-Name", false)
	e.mustUser("eve@example.com", "Eve", false)
	admin, seller := e.mustLogin("root@example.com"), e.mustLogin("sel@example.com")
	ann, bob, eve := e.mustLogin("ann@example.com"), e.mustLogin("bob@example.com"), e.mustLogin("eve@example.com")
	id := e.mustAuction(seller, "")
	e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":1000,"max_amount":3000}`, cookie: ann}).wantStatus(t, 201)
	e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":2000}`, cookie: bob}).wantStatus(t, 201)
	// Ann raises her own maximum: no public line, and 4321.00 is secret.
	e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":2100,"max_amount":432100}`, cookie: ann}).wantStatus(t, 201)

	type want struct {
		lines      int
		raise      bool // the raise line, with the new maximum
		identities bool
		you        string // the alias marked "you"
	}
	cases := []struct {
		name   string
		cookie string
		want   want
	}{
		{"anonymous", "", want{lines: 3}},
		{"another user", eve, want{lines: 3}},
		{"the outbid bidder", bob, want{lines: 3, you: "Bidder 2"}},
		{"the leader who raised", ann, want{lines: 4, raise: true, you: "Bidder 1"}},
		{"the seller", seller, want{lines: 3, identities: true}},
		{"an admin", admin, want{lines: 4, raise: true, identities: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := e.with(t).do(req{method: "GET", path: auctionPath(id, "/bids"), cookie: tc.cookie}).wantStatus(t, 200)
			body := string(res.body)
			bids, _ := res.json(t)["bids"].([]any)
			if len(bids) != tc.want.lines {
				t.Fatalf("%d lines, want %d: %s", len(bids), tc.want.lines, body)
			}
			if strings.Contains(body, "432100") != tc.want.raise || strings.Contains(body, `"raise":true`) != tc.want.raise {
				t.Errorf("raise shown = %v, want %v: %s", !tc.want.raise, tc.want.raise, body)
			}
			if strings.Contains(body, "Real-Name") != tc.want.identities || strings.Contains(body, "@example.com") != tc.want.identities {
				t.Errorf("identities shown = %v, want %v: %s", !tc.want.identities, tc.want.identities, body)
			}
			for _, b := range bids {
				l := b.(map[string]any)
				if (l["you"] == true) != (tc.want.you != "" && l["bidder"] == tc.want.you) {
					t.Errorf("line %v: you = %v", l, l["you"])
				}
			}
			// Everyone's newest public line is Ann's automatic bid at the price.
			top := bids[0].(map[string]any)
			if top["raise"] == true {
				top = bids[1].(map[string]any)
			}
			if top["bidder"] != "Bidder 1" || top["automatic"] != true || top["amount"] != float64(2050) {
				t.Errorf("newest public line %v", top)
			}
			page := e.with(t).do(req{method: "GET", path: "/auctions/" + strconv.FormatInt(id, 10), cookie: tc.cookie}).wantStatus(t, 200)
			html := string(page.body)
			if strings.Contains(html, "ann@example.com") != tc.want.identities || strings.Contains(html, "raised their maximum to") != tc.want.raise ||
				strings.Contains(html, "4321.00") != tc.want.raise {
				t.Errorf("page: identities %v, raise %v", strings.Contains(html, "ann@example.com"), strings.Contains(html, "raised their maximum to"))
			}
			if strings.Contains(html, "You are not the highest bidder.") != (tc.cookie == bob) {
				t.Errorf("page says 'not the highest bidder' = %v", !(tc.cookie == bob))
			}
		})
	}

	t.Run("bidders endpoint", func(t *testing.T) {
		path := auctionPath(id, "/bidders")
		e.with(t).do(req{method: "GET", path: path}).wantProblem(t, http.StatusUnauthorized, domain.CodeUnauthorized)
		for _, c := range []string{bob, eve} {
			p := e.with(t).do(req{method: "GET", path: path, cookie: c}).wantProblem(t, http.StatusForbidden, domain.CodeForbidden)
			if !strings.Contains(p["detail"].(string), "seller") {
				t.Errorf("refusal says %q", p["detail"])
			}
		}
		for _, c := range []string{seller, admin} {
			got := e.with(t).do(req{method: "GET", path: path, cookie: c}).wantStatus(t, 200).json(t)
			list, _ := got["bidders"].([]any)
			if len(list) != 2 || list[0].(map[string]any)["alias"] != "Bidder 1" ||
				list[0].(map[string]any)["user"].(map[string]any)["email"] != "ann@example.com" {
				t.Errorf("bidders = %v", got)
			}
		}
		e.with(t).do(req{method: "GET", path: auctionPath(999, "/bidders"), cookie: admin}).wantProblem(t, http.StatusNotFound, domain.CodeNotFound)
	})

	t.Run("your alias", func(t *testing.T) {
		you := func(cookie string) map[string]any {
			v := e.with(t).do(req{method: "GET", path: auctionPath(id, ""), cookie: cookie}).wantStatus(t, 200).json(t)
			m, _ := v["you"].(map[string]any)
			return m
		}
		if a := you(bob)["alias"]; a != "Bidder 2" {
			t.Errorf("Bob's alias = %v", a)
		}
		if a, ok := you(eve)["alias"]; ok {
			t.Errorf("Eve, who never bid, has alias %v", a)
		}
	})
}
