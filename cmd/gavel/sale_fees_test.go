package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/config"
)

// TestSaleFeesOverHTTP: a sale's fees through the API (problem+json for a
// bad schedule, copied to its lots, re-copied on PATCH) and the pages (the
// sale form's fee fields, the terms on the catalogue, the dashboard's
// statement and invoice links).
func TestSaleFeesOverHTTP(t *testing.T) {
	c := mustCluster(t)
	n := c.node(config.RoleAll, "all")
	base := n.URL()
	api := base + "/api/v1"
	seller := mustClient(t, base, "feeseller@example.com")
	bidder := mustClient(t, base, "feebidder@example.com")
	first := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	sale := func(extra map[string]any) map[string]any {
		b := map[string]any{"title": "Silver", "currency": "EUR", "first_close_at": first, "gap_seconds": 30}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	post := func(method, target string, body map[string]any) (int, string, http.Header) {
		t.Helper()
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		return seller.raw(method, target, "application/json", bytes.NewReader(b))
	}

	// A schedule of the wrong JSON type, and one that breaks the rules:
	// problem+json, the second by field.
	for _, tc := range []struct {
		body   map[string]any
		code   int
		fields []string
	}{
		{sale(map[string]any{"buyers_premium": "25%"}), http.StatusUnprocessableEntity, []string{"buyers_premium"}},
		{sale(map[string]any{"tax": []int{1}}), http.StatusUnprocessableEntity, []string{"tax"}},
		{sale(map[string]any{"shipping": []map[string]any{{"kind": "pickup", "amount": "free"}}}), http.StatusUnprocessableEntity, []string{"shipping.amount"}},
		{sale(map[string]any{"buyers_premium": []map[string]any{{"rate_bps": 2500}, {"rate_bps": 2000}},
			"tax": map[string]any{"label": "", "rate_bps": 0}, "shipping": []map[string]any{{"kind": "drone"}}}),
			http.StatusUnprocessableEntity, []string{"buyers_premium", "tax", "shipping"}},
	} {
		code, body, h := post(http.MethodPost, api+"/sales", tc.body)
		if code != tc.code || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%v: %d %s %s, want %d problem+json", tc.body, code, h.Get("Content-Type"), body, tc.code)
			continue
		}
		doc := decodeDoc(t, body)
		for _, f := range tc.fields {
			if doc.Errors[f] == "" {
				t.Errorf("no error for %s: %s", f, body)
			}
		}
	}

	premium := []map[string]any{{"up_to": 100000, "rate_bps": 2500}, {"rate_bps": 2000}}
	var sv domain.SaleView
	seller.json(http.MethodPost, api+"/sales", sale(map[string]any{"buyers_premium": premium,
		"tax": map[string]any{"label": "VAT", "rate_bps": 2100, "on": "premium"}}), http.StatusCreated, &sv)
	terms := strings.Join(sv.FeeTerms, " ")
	if len(sv.BuyersPremium) != 2 || sv.Tax == nil || !strings.Contains(terms, "25% of the hammer price up to 1000.00 EUR, 20% above") ||
		!strings.Contains(terms, "VAT: 21% on the buyer's premium") {
		t.Fatalf("created sale: %+v %q", sv.BuyersPremium, sv.FeeTerms)
	}
	saleAPI := fmt.Sprintf("%s/sales/%d", api, sv.ID)
	var lot domain.AuctionView
	seller.json(http.MethodPost, saleAPI+"/lots", map[string]any{"lot_number": 1, "title": "Teapot", "start_price": 120000}, http.StatusCreated, &lot)
	if len(lot.BuyersPremium) != 2 || lot.EstimatedTotal != 155090 {
		t.Errorf("lot: premium %+v, estimated_total %d, want 1550.90", lot.BuyersPremium, lot.EstimatedTotal)
	}
	// A PATCH of the fees reaches the lot (it has no bid).
	seller.json(http.MethodPatch, saleAPI, sale(map[string]any{"buyers_premium": []map[string]any{{"rate_bps": 1000}}}), http.StatusOK, &sv)
	var got domain.AuctionView
	seller.json(http.MethodGet, fmt.Sprintf("%s/auctions/%d", api, lot.ID), nil, http.StatusOK, &got)
	if len(got.BuyersPremium) != 1 || got.BuyersPremium[0].RateBPS != 1000 || got.Tax != nil || got.EstimatedTotal != 132000 {
		t.Errorf("lot after the PATCH: %+v %+v, estimated_total %d, want 10%% only: 1320.00", got.BuyersPremium, got.Tax, got.EstimatedTotal)
	}

	// The form: a bad rate is shown beside its field, nothing is created.
	form := url.Values{"title": {"Clocks"}, "currency": {"EUR"}, "first_close_at_utc": {first}, "gap_seconds": {"30"},
		"soft_close_seconds": {"60"}, "soft_close_mode": {"lot"}, "tier0_rate": {"lots"}, "tax_label": {"VAT"}, "tax_rate": {"21"}}
	code, body, _ := seller.form(base+"/sales/new", form)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "Enter a percentage such as 25 or 20.5.") ||
		!strings.Contains(body, `href="#tier0_rate"`) || !strings.Contains(body, `value="VAT"`) {
		t.Fatalf("bad fee on the sale form: %d\n%.3000s", code, body)
	}
	form.Set("tier0_rate", "22.5")
	form.Set("pickup_where", "Saleroom, Delft")
	code, _, loc := seller.form(base+"/sales/new", form)
	if code != http.StatusSeeOther || !strings.HasSuffix(loc, "/dashboard") {
		t.Fatalf("new sale with fees: %d %s", code, loc)
	}
	saleURL := base + strings.TrimSuffix(loc, "/dashboard")
	id := strings.TrimPrefix(saleURL, base+"/sales/")
	seller.page(saleURL+"/edit", http.StatusOK, `id="tier0_rate" name="tier0_rate" type="text" inputmode="decimal" value="22.5"`, `value="Saleroom, Delft"`)
	seller.page(base+loc, http.StatusOK, "Buyer&#39;s premium: 22.5% of the hammer price.", "VAT: 21% on the buyer&#39;s premium.",
		`href="/sales/`+id+`/statement"`, `href="/me/invoices?role=seller&amp;sale=`+id+`"`)
	// Emptied on the edit form, the fees are removed; then set again.
	empty := url.Values{}
	for k, v := range form {
		empty[k] = v
	}
	for _, k := range []string{"tier0_rate", "tax_label", "tax_rate", "pickup_where"} {
		empty.Del(k)
	}
	if code, body, _ = seller.form(saleURL+"/edit", empty); code != http.StatusSeeOther {
		t.Fatalf("edit without fees: %d\n%.2000s", code, body)
	}
	var edited domain.SaleView
	seller.json(http.MethodGet, api+"/sales/"+id, nil, http.StatusOK, &edited)
	if len(edited.BuyersPremium) != 0 || edited.Tax != nil || len(edited.Shipping) != 0 {
		t.Fatalf("fees left after emptying the form: %+v", edited)
	}
	if code, _, _ = seller.form(saleURL+"/edit", form); code != http.StatusSeeOther {
		t.Fatalf("edit with fees: %d", code)
	}
	if code, _, _ = seller.form(saleURL+"/lots/new", url.Values{"lot_number": {"1"}, "title": {"Mantel clock"}, "start_price": {"100"}}); code != http.StatusSeeOther {
		t.Fatalf("lot form: %d", code)
	}
	if code, _, _ = seller.form(saleURL+"/publish", nil); code != http.StatusSeeOther {
		t.Fatalf("publish: %d", code)
	}
	bidder.page(saleURL, http.StatusOK, `id="sale-fee-terms"`, "Buyer&#39;s premium: 22.5% of the hammer price.",
		"Collection from Saleroom, Delft, free.",
		// The row's bid form: 100.00 + 22.50 premium + 4.725 → 4.73 VAT.
		`data-fee-words="with buyer&#39;s premium and VAT">Your bid 100.00 EUR → 127.23 EUR with buyer&#39;s premium and VAT</p>`)
}
