package web

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
)

func TestStrictJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *Deps) { c.BidLimit = 1000 })
	e.mustUser("seller@example.com", "Sel", false)
	e.mustUser("bidder@example.com", "Bid", false)
	id := e.mustAuction(e.mustLogin("seller@example.com"), "")
	tok := e.mustLogin("bidder@example.com")
	bids := "/api/v1/auctions/" + strconv.FormatInt(id, 10) + "/bids"

	tests := []struct {
		name        string
		body        string
		contentType string
		status      int
		code        domain.Code
		field       string // expected key in "errors"
		detail      string // expected substring of detail
	}{
		{"malformed", `{"amount":`, "", 400, codeMalformed, "", "ends too early"},
		{"syntax", `{"amount":1,}`, "", 400, codeMalformed, "", "byte"},
		{"not json", `amount=5`, "", 400, codeMalformed, "", "Malformed JSON"},
		{"empty", ` `, "", 400, codeMalformed, "", "empty"},
		{"trailing data", `{"amount":1500} {"amount":1}`, "", 400, codeMalformed, "", "after the JSON object"},
		{"array", `[1500]`, "", 422, domain.CodeInvalid, "", "JSON object"},
		{"null", `null`, "", 422, domain.CodeInvalid, "", "JSON object"},
		{"unknown field", `{"amount":1500,"amout":1}`, "", 422, domain.CodeInvalid, "amout", `Unknown field "amout"`},
		{"string money", `{"amount":"1500"}`, "", 422, domain.CodeInvalid, "amount", `"amount" must be a whole number of minor units (cents), got a string`},
		{"float money", `{"amount":12.5}`, "", 422, domain.CodeInvalid, "amount", `"amount" must be a whole number of minor units (cents), got 12.5`},
		{"exponent money", `{"amount":1e3}`, "", 422, domain.CodeInvalid, "amount", `got 1e3`},
		{"negative money", `{"amount":-5}`, "", 422, domain.CodeInvalid, "amount", `"amount" must not be negative, got -5`},
		{"negative max", `{"amount":1500,"max_amount":-1}`, "", 422, domain.CodeInvalid, "max_amount", "must not be negative"},
		{"too much money", `{"amount":1000000000000001}`, "", 422, domain.CodeInvalid, "amount", "too large"},
		{"int64 overflow", `{"amount":99999999999999999999}`, "", 422, domain.CodeInvalid, "amount", "too large"},
		{"bool money", `{"amount":true}`, "", 422, domain.CodeInvalid, "amount", "got a boolean"},
		{"missing amount", `{}`, "", 422, domain.CodeInvalid, "amount", "required"},
		{"form content type", `{"amount":1500}`, "application/x-www-form-urlencoded", 415, codeUnsupported, "", "application/json"},
		{"no content type", `{"amount":1500}`, "none", 415, codeUnsupported, "", ""},
		{"latin1 charset", `{"amount":1500}`, "application/json; charset=latin1", 415, codeUnsupported, "", ""},
		{"utf-8 charset", `{"amount":1500}`, "application/json; charset=UTF-8", 201, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.with(t).do(req{method: "POST", path: bids, body: tt.body, contentType: tt.contentType, cookie: tok})
			if tt.status == 201 {
				r.wantStatus(t, 201)
				return
			}
			m := r.wantProblem(t, tt.status, tt.code)
			if d, _ := m["detail"].(string); !strings.Contains(d, tt.detail) {
				t.Errorf("detail = %q, want it to contain %q", d, tt.detail)
			}
			if tt.field != "" {
				errs, _ := m["errors"].(map[string]any)
				if _, ok := errs[tt.field]; !ok {
					t.Errorf("errors = %v, want key %q", m["errors"], tt.field)
				}
			}
		})
	}
}

func TestAuctionBodyTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("ida@example.com", "Ida", false)
	tok := e.mustLogin("ida@example.com")
	tests := []struct {
		body, field string
	}{
		{`{"title":5}`, "title"},
		{`{"title":"x","currency":"EUR","start_price":100,"ends_at":"tomorrow"}`, "ends_at"},
		{`{"title":"x","currency":"EUR","start_price":100,"ends_at":"2026-03-01T13:00:00Z","starts_at":"2026-03-01 12:00"}`, "starts_at"},
		{`{"title":"x","currency":"EUR","start_price":100}`, "ends_at"},
		{`{"title":"x","currency":"EUR","start_price":100,"ends_at":"2026-03-01T13:00:00Z","soft_close_seconds":1.5}`, "soft_close_seconds"},
		{`{"title":"x","currency":"EUR","start_price":100.5,"reserve_price":-1,"ends_at":"2026-03-01T13:00:00Z"}`, "start_price"},
		{`{"title":"x","currency":"EUR","start_price":100,"reserve_price":-1,"buy_now_price":-2,"ends_at":"2026-03-01T13:00:00Z"}`, "buy_now_price"},
		// Fields of the embedded fee body keep their JSON names.
		{`{"title":"x","currency":"EUR","start_price":100,"ends_at":"2026-03-01T13:00:00Z","buyers_premium":"25%"}`, "buyers_premium"},
		{`{"title":"x","currency":"EUR","start_price":100,"ends_at":"2026-03-01T13:00:00Z","tax":{"rate_bps":"21"}}`, "tax.rate_bps"},
	}
	for _, tt := range tests {
		m := e.do(req{method: "POST", path: "/api/v1/auctions", body: tt.body, cookie: tok}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
		errs, _ := m["errors"].(map[string]any)
		if _, ok := errs[tt.field]; !ok {
			t.Errorf("%s: errors = %v, want %q", tt.body, m["errors"], tt.field)
		}
	}
}

// TestBodyLimit needs a real connection: fasthttp refuses an oversize body
// while reading it, before any handler, and app.Test reports that as an error.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *Deps) { c.BodyLimit = 1024 })
	base := e.listen()
	body := `{"email":"a@example.com","password":"` + strings.Repeat("p", 2000) + `","name":"A"}`
	res, err := http.Post(base+"/api/v1/users", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r := readResp(t, res)
	r.wantProblem(t, http.StatusRequestEntityTooLarge, codeTooLarge)
	if r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("413 lacks security headers: %v", r.header)
	}
	// Within the limit the same route answers normally.
	res, err = http.Post(base+"/api/v1/users", "application/json", strings.NewReader(`{"email":"a@example.com","password":"longenough","name":"A"}`))
	if err != nil {
		t.Fatal(err)
	}
	readResp(t, res).wantStatus(t, http.StatusCreated)
}
