package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/config"
)

// raw sends a request with any body and content type and returns the
// status and body.
func (c *client) raw(method, url, contentType string, body io.Reader) (int, string, http.Header) {
	c.t.Helper()
	req, _ := http.NewRequest(method, url, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), resp.Header
}

// loginClient logs an existing account in.
func loginClient(t *testing.T, base, email, password string) *client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	c.json(http.MethodPost, base+"/api/v1/session", map[string]any{"email": email, "password": password}, http.StatusOK, nil)
	return c
}

// problemDoc is a problem+json answer with the lots file's problems.
type problemDoc struct {
	Detail   string            `json:"detail"`
	Code     string            `json:"code"`
	Errors   map[string]string `json:"errors"`
	Problems []struct {
		Row     int    `json:"row"`
		Column  string `json:"column"`
		Message string `json:"message"`
	} `json:"problems"`
	Valid bool `json:"valid"`
	Count int  `json:"count"`
}

func decodeDoc(t *testing.T, body string) problemDoc {
	t.Helper()
	var d problemDoc
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("not JSON: %v: %s", err, body)
	}
	return d
}

const lotsHeader = "lot_number,title,description,start_price,reserve,low_estimate,high_estimate,buy_now\n"

// TestSalesAPI drives the sales API of a real node (PostgreSQL, NATS) as
// docs/API.md describes it, refusals included.
func TestSalesAPI(t *testing.T) {
	c := mustCluster(t)
	n := c.node(config.RoleAll, "all")
	base := n.URL() + "/api/v1"
	seller := mustClient(t, n.URL(), "seller@example.com")
	bidder := mustClient(t, n.URL(), "bidder@example.com")
	if _, err := n.svc.CreateUser(context.Background(), "admin@example.com", "correct horse", "Admin", true); err != nil {
		t.Fatal(err)
	}
	admin := loginClient(t, n.URL(), "admin@example.com", "correct horse")

	// Every problem with a sale at once.
	var bad problemDoc
	seller.json(http.MethodPost, base+"/sales", map[string]any{"title": "", "currency": "XXX", "first_close_at": "soon"}, http.StatusUnprocessableEntity, &bad)
	if bad.Errors["first_close_at"] == "" {
		t.Fatalf("bad time: %+v", bad)
	}
	seller.json(http.MethodPost, base+"/sales", map[string]any{"title": "", "currency": "XXX", "gap_seconds": -1,
		"soft_close_mode": "group", "first_close_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, http.StatusUnprocessableEntity, &bad)
	for _, f := range []string{"title", "currency", "gap_seconds", "soft_close_mode"} {
		if bad.Errors[f] == "" {
			t.Errorf("no error for %s: %+v", f, bad.Errors)
		}
	}

	opens := time.Now().Add(time.Hour).UTC()
	var sale domain.SaleView
	seller.json(http.MethodPost, base+"/sales", map[string]any{"title": "Clocks & watches", "description": "Spring", "currency": "EUR",
		"opens_at": opens.Format(time.RFC3339), "first_close_at": opens.Add(time.Hour).Format(time.RFC3339), "gap_seconds": 20,
		"soft_close_seconds": 60, "soft_close_mode": "cascade", "terms": "Buyer's premium 0%."}, http.StatusCreated, &sale)
	if sale.Status != domain.SaleDraft || sale.SoftCloseMode != domain.SoftCloseCascade || sale.Terms != "Buyer's premium 0%." || sale.GapSeconds != 20 {
		t.Fatalf("created %+v", sale)
	}
	saleURL := fmt.Sprintf("%s/sales/%d", base, sale.ID)
	bidder.json(http.MethodGet, saleURL, nil, http.StatusNotFound, nil) // a draft is private

	// One lot as JSON (minor units).
	var lot domain.AuctionView
	seller.json(http.MethodPost, saleURL+"/lots", map[string]any{"lot_number": 1, "title": "Ship's clock", "start_price": 2500,
		"low_estimate": 4000, "high_estimate": 6000}, http.StatusCreated, &lot)
	if lot.LotNumber != 1 || lot.LowEstimate != 4000 || lot.SaleID != sale.ID || lot.Status != domain.StatusDraft {
		t.Fatalf("lot %+v", lot)
	}
	bidder.json(http.MethodGet, fmt.Sprintf("%s/auctions/%d", base, lot.ID), nil, http.StatusNotFound, nil)
	bidder.json(http.MethodPost, saleURL+"/lots", map[string]any{"lot_number": 2, "title": "x", "start_price": 1}, http.StatusNotFound, nil)

	// A file: previewed with every problem, refused whole, then imported.
	badFile := lotsHeader + "1,Duplicate of the JSON lot,,10,,,,\n2,Globe,,ten,,,,\n3,,,10,,,,\n"
	code, body, _ := seller.raw(http.MethodPost, saleURL+"/lots?dry_run=1", "text/csv", strings.NewReader(badFile))
	pv := decodeDoc(t, body)
	if code != http.StatusOK || pv.Valid || len(pv.Problems) != 3 {
		t.Fatalf("preview: %d %s", code, body)
	}
	got := fmt.Sprintf("%d/%s %d/%s %d/%s", pv.Problems[0].Row, pv.Problems[0].Column, pv.Problems[1].Row, pv.Problems[1].Column,
		pv.Problems[2].Row, pv.Problems[2].Column)
	if got != "2/lot_number 3/start_price 4/title" {
		t.Errorf("preview problems %s: %s", got, body)
	}
	code, body, _ = seller.raw(http.MethodPost, saleURL+"/lots", "text/csv", strings.NewReader(badFile))
	if code != http.StatusUnprocessableEntity || len(decodeDoc(t, body).Problems) != 3 {
		t.Fatalf("import of a bad file: %d %s", code, body)
	}
	for name, file := range map[string]string{
		"not UTF-8":      lotsHeader + "2,Caf\xe9 table,,10,,,,\n",
		"missing column": "lot_number,title,start_price\n2,Globe,10\n",
	} {
		code, body, _ := seller.raw(http.MethodPost, saleURL+"/lots", "text/csv; charset=utf-8", strings.NewReader(file))
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, map[string]string{"not UTF-8": "UTF-8", "missing column": "missing"}[name]) {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
	// An oversize file: the server answers 413 as soon as it has read the
	// headers and closes the connection (web/body.go): a client still
	// sending may see the reset before the answer.
	huge, _ := http.NewRequest(http.MethodPost, saleURL+"/lots", strings.NewReader(lotsHeader+strings.Repeat("x", 9<<20)))
	huge.Header.Set("Content-Type", "text/csv")
	if resp, err := seller.http.Do(huge); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("oversize file: %s, want 413", resp.Status)
		}
	} else if !strings.Contains(err.Error(), "connection reset") && !strings.Contains(err.Error(), "broken pipe") {
		t.Errorf("oversize file: %v, want 413 or a closed connection", err)
	}
	if code, body, _ := seller.raw(http.MethodPost, saleURL+"/lots", "text/plain", strings.NewReader("x")); code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d %s", code, body)
	}
	var lots struct{ Lots []domain.AuctionView }
	seller.json(http.MethodGet, saleURL+"/lots", nil, http.StatusOK, &lots)
	if len(lots.Lots) != 1 {
		t.Fatalf("refused files created lots: %d", len(lots.Lots))
	}
	good := "\xef\xbb\xbf" + lotsHeader + "2,\"=HYPERLINK(\"\"http://x\"\")\",Globe,100.00,150,120,180,\n3,Camera,,45.50,,,,90\n"
	code, body, _ = seller.raw(http.MethodPost, saleURL+"/lots?dry_run=1", "text/csv", strings.NewReader(good))
	if pv := decodeDoc(t, body); code != http.StatusOK || !pv.Valid || pv.Count != 2 {
		t.Fatalf("preview of a good file: %d %s", code, body)
	}
	if code, body, _ = seller.raw(http.MethodPost, saleURL+"/lots", "text/csv", strings.NewReader(good)); code != http.StatusCreated {
		t.Fatalf("import: %d %s", code, body)
	}
	seller.json(http.MethodGet, saleURL+"/lots", nil, http.StatusOK, &lots)
	if len(lots.Lots) != 3 || lots.Lots[1].StartPrice != 10000 || lots.Lots[1].ReservePrice != 15000 || lots.Lots[2].StartPrice != 4550 {
		t.Fatalf("lots after import: %+v", lots.Lots)
	}

	seller.json(http.MethodPost, saleURL+"/publish", nil, http.StatusOK, &sale)
	if sale.Status != domain.SaleScheduled || sale.Stats == nil || sale.Stats.Lots != 3 {
		t.Fatalf("published %+v", sale)
	}
	var public struct{ Lots []domain.AuctionView }
	bidder.json(http.MethodGet, saleURL+"/lots", nil, http.StatusOK, &public)
	if public.Lots[2].BuyNowPrice != 9000 || public.Lots[2].Status != domain.StatusScheduled || public.Lots[1].ReservePrice != 0 {
		t.Fatalf("published lots as a bidder sees them: %+v", public.Lots[1:])
	}
	var list struct{ Sales []domain.SaleView }
	bidder.json(http.MethodGet, base+"/sales", nil, http.StatusOK, &list)
	if len(list.Sales) != 1 || list.Sales[0].ID != sale.ID {
		t.Fatalf("listing %+v", list)
	}
	bidder.json(http.MethodGet, base+"/sales?status=draft", nil, http.StatusUnprocessableEntity, nil)
	var edited domain.AuctionView
	seller.json(http.MethodPatch, fmt.Sprintf("%s/lots/%d", saleURL, lot.ID), map[string]any{"lot_number": 1, "title": "Ship's clock, brass",
		"start_price": 2500}, http.StatusOK, &edited)
	if edited.Title != "Ship's clock, brass" || edited.LowEstimate != 0 || edited.ID != lot.ID {
		t.Fatalf("edited lot %+v", edited)
	}
	seller.json(http.MethodPatch, fmt.Sprintf("%s/auctions/%d", base, lot.ID), map[string]any{"title": "x", "currency": "EUR",
		"start_price": 1, "ends_at": opens.Add(2 * time.Hour).Format(time.RFC3339)}, http.StatusConflict, nil)

	// Open it now (the seller moves the opening), then bid through the
	// auction routes, which work on lots unchanged.
	seller.json(http.MethodPatch, saleURL, map[string]any{"title": "Clocks & watches", "currency": "EUR",
		"opens_at": time.Now().Add(-time.Second).UTC().Format(time.RFC3339), "first_close_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		"gap_seconds": 20, "soft_close_seconds": 60, "soft_close_mode": "cascade"}, http.StatusOK, &sale)
	deadline := time.Now().Add(20 * time.Second)
	for sale.Status != domain.SaleOpen && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		bidder.json(http.MethodGet, saleURL, nil, http.StatusOK, &sale)
	}
	if sale.Status != domain.SaleOpen {
		t.Fatalf("sale is %s after its opening", sale.Status)
	}
	lotURL := fmt.Sprintf("%s/auctions/%d", base, lot.ID)
	bidder.json(http.MethodPost, lotURL+"/bids", map[string]any{"amount": 2500}, http.StatusCreated, nil)
	seller.json(http.MethodPatch, fmt.Sprintf("%s/lots/%d", saleURL, lot.ID), map[string]any{"lot_number": 1, "title": "y", "start_price": 1}, http.StatusConflict, nil)

	// Pause: admins only; a bid is refused with a reason; resume.
	seller.json(http.MethodPost, saleURL+"/pause", nil, http.StatusForbidden, nil)
	admin.json(http.MethodPost, saleURL+"/pause", map[string]any{"reason": "Checking a lot"}, http.StatusOK, &sale)
	if !sale.Paused || sale.PausedAt == nil {
		t.Fatalf("paused %+v", sale)
	}
	var refused problemDoc
	bidder.json(http.MethodPost, lotURL+"/bids", map[string]any{"amount": 5000}, http.StatusConflict, &refused)
	if !strings.Contains(refused.Detail, "paused") {
		t.Errorf("refusal while paused: %+v", refused)
	}
	var lv domain.AuctionView
	bidder.json(http.MethodGet, lotURL, nil, http.StatusOK, &lv)
	if lv.PausedAt == nil {
		t.Errorf("a lot of a paused sale shows no pause: %+v", lv)
	}
	admin.json(http.MethodPost, saleURL+"/resume", nil, http.StatusOK, &sale)
	bidder.json(http.MethodPost, lotURL+"/bids", map[string]any{"amount": 5000}, http.StatusCreated, nil)

	// Results: not before the first close; then CSV, escaped, for the
	// seller and admins only.
	seller.json(http.MethodGet, saleURL+"/results.csv", nil, http.StatusConflict, nil)
	admin.json(http.MethodPost, saleURL+"/cancel", map[string]any{"reason": "Consignor withdrew"}, http.StatusOK, &sale)
	bidder.json(http.MethodGet, saleURL+"/results.csv", nil, http.StatusForbidden, nil)
	code, body, hdr := seller.raw(http.MethodGet, saleURL+"/results.csv", "", nil)
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || !strings.Contains(hdr.Get("Content-Disposition"), "attachment") {
		t.Fatalf("results: %d %v", code, hdr)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("results CSV (%v): %q", err, body)
	}
	if rows[2][1] != `'=HYPERLINK("http://x")` || rows[1][2] != "withdrawn" {
		t.Errorf("results rows %q", rows)
	}
}
