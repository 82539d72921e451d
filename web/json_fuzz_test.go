package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// FuzzJSONBodies sends arbitrary bodies to the JSON endpoints that parse
// money, times and free text: whatever the bytes, the answer is a 2xx or a
// 4xx problem+json, never a 500.
func FuzzJSONBodies(f *testing.F) {
	for _, seed := range []string{
		`{"amount": 1500}`, `{"amount": 12.5}`, `{"amount": -1}`, `{"amount": 1e30}`, `{"amount": "15"}`,
		`{"amount": 1500, "max_amount": 9223372036854775807}`, `{"amount":1}{"amount":2}`, `[1,2]`, `null`, ``,
		`{"title":"Lamp\nevent: forged","currency":"EUR","start_price":100,"ends_at":"2030-01-01T00:00:00Z"}`,
		`{"title":"x","currency":"XXX","start_price":1,"ends_at":"tomorrow"}`, `{"email":"a@b.c","password":"x","name":"\u0000"}`,
		`{"unknown": true}`, "\xff\xfe", `{"amount": 1500, "amount": 1600}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		e := newEnv(t)
		seller := e.mustLogin(e.mustUser("seller@example.com", "Seller", false).Email)
		id := e.mustAuction(seller, "")
		e.mustUser("fuzz@example.com", "Fuzz", false)
		cookie := e.mustLogin("fuzz@example.com")
		for _, path := range []string{fmt.Sprintf("/api/v1/auctions/%d/bids", id), "/api/v1/auctions", "/api/v1/users", "/api/v1/session"} {
			r := e.do(req{method: http.MethodPost, path: path, body: body, cookie: cookie})
			if r.status >= 500 {
				t.Fatalf("POST %s %q: %d %s", path, body, r.status, r.body)
			}
			if r.status >= 400 && !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("POST %s %q: %d with Content-Type %q, want problem+json", path, body, r.status, r.header.Get("Content-Type"))
			}
		}
	})
}
