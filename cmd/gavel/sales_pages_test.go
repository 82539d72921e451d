package main

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/config"
)

// form posts a urlencoded form without following the redirect.
func (c *client) form(target string, values url.Values) (int, string, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(values.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.noRedirect(req)
}

func (c *client) noRedirect(req *http.Request) (int, string, string) {
	c.t.Helper()
	hc := &http.Client{Jar: c.http.Jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String(), resp.Header.Get("Location")
}

func mustRequest(t *testing.T, method, target string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func (c *client) page(target string, want int, contains ...string) string {
	c.t.Helper()
	code, body, _ := c.raw(http.MethodGet, target, "", nil)
	if code != want {
		c.t.Fatalf("GET %s: %d, want %d\n%.500s", target, code, want, body)
	}
	for _, s := range contains {
		if !strings.Contains(body, s) {
			c.t.Errorf("GET %s: no %q in the page", target, s)
		}
	}
	return body
}

// TestSalePages drives the sale pages without a browser: the forms (new
// sale, one lot, import by upload with its problems listed), the
// dashboard's buttons and the catalogue's filters.
func TestSalePages(t *testing.T) {
	c := mustCluster(t)
	n := c.node(config.RoleAll, "all")
	base := n.URL()
	seller := mustClient(t, base, "seller@example.com")
	bidder := mustClient(t, base, "bidder@example.com")

	seller.page(base+"/sales/new", http.StatusOK, `id="sale-form"`, "Cascade")
	// Every problem at once, beside its field.
	code, body, _ := seller.form(base+"/sales/new", url.Values{"title": {""}, "currency": {"EUR"}, "gap_seconds": {"x"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "Enter a title.") || !strings.Contains(body, "Enter when the first lot closes.") ||
		!strings.Contains(body, "Enter a whole number of seconds.") {
		t.Fatalf("bad sale form: %d\n%.2000s", code, body)
	}
	first := time.Now().Add(2 * time.Hour).UTC()
	code, _, loc := seller.form(base+"/sales/new", url.Values{"title": {"Toys"}, "currency": {"EUR"},
		"first_close_at_utc": {first.Format(time.RFC3339)}, "gap_seconds": {"30"}, "soft_close_seconds": {"60"}, "soft_close_mode": {"cascade"}})
	if code != http.StatusSeeOther || !strings.HasSuffix(loc, "/dashboard") {
		t.Fatalf("new sale: %d %s", code, loc)
	}
	dash := base + loc
	saleURL := strings.TrimSuffix(dash, "/dashboard")
	seller.page(dash, http.StatusOK, "Publish the sale", "Import lots")
	bidder.page(saleURL, http.StatusNotFound)

	code, body, _ = seller.form(saleURL+"/lots/new", url.Values{"lot_number": {"1"}, "title": {"Tin robot"}, "start_price": {"12.5"},
		"low_estimate": {"20"}, "high_estimate": {"10"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "The high estimate must be at least the low estimate.") {
		t.Fatalf("bad lot form: %d\n%.1500s", code, body)
	}
	if code, _, _ = seller.form(saleURL+"/lots/new", url.Values{"lot_number": {"1"}, "title": {"Tin robot"}, "start_price": {"12.5"}}); code != http.StatusSeeOther {
		t.Fatalf("lot form: %d", code)
	}
	// An upload with problems lists them by row, and imports nothing.
	upload := func(file string, checkOnly bool) (int, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "lots.csv")
		_, _ = fw.Write([]byte(file))
		if checkOnly {
			_ = mw.WriteField("check_only", "1")
		}
		_ = mw.Close()
		req, _ := http.NewRequest(http.MethodPost, saleURL+"/import", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		code, body, _ := seller.noRedirect(req)
		return code, body
	}
	code, body = upload(lotsHeader+"1,Again,,1,,,,\n2,Yo-yo,,x,,,,\n", false)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "Lot 1 already exists") || !strings.Contains(body, "<td>3</td><td>start_price</td>") {
		t.Fatalf("bad upload: %d\n%.3000s", code, body)
	}
	code, body = upload(lotsHeader+"2,Yo-yo,,3,,,,\n3,Kite,,4.5,,5,8,\n", true)
	if code != http.StatusOK || !strings.Contains(body, "2 lots would be added") {
		t.Fatalf("checked upload: %d\n%.2000s", code, body)
	}
	if code, _ = upload(lotsHeader+"2,Yo-yo,,3,,,,\n3,Kite,,4.5,,5,8,\n", false); code != http.StatusSeeOther {
		t.Fatalf("upload: %d", code)
	}
	// Lots are edited on a form of their own, until their first bid.
	var lots struct{ Lots []domain.AuctionView }
	seller.json(http.MethodGet, base+"/api/v1"+strings.TrimPrefix(saleURL, base)+"/lots", nil, http.StatusOK, &lots)
	editURL := fmt.Sprintf("%s/lots/%d/edit", saleURL, lots.Lots[0].ID)
	seller.page(editURL, http.StatusOK, `value="Tin robot"`, `value="12.50"`)
	if code, _, loc := seller.noRedirect(mustRequest(t, http.MethodGet, fmt.Sprintf("%s/auctions/%d/edit", base, lots.Lots[0].ID))); code != http.StatusFound || !strings.HasSuffix(loc, "/edit") || !strings.Contains(loc, "/lots/") {
		t.Fatalf("a lot's auction edit page: %d %s", code, loc)
	}
	if code, _, _ = seller.form(editURL, url.Values{"lot_number": {"1"}, "title": {"Tin robot, boxed"}, "start_price": {"12.5"}}); code != http.StatusSeeOther {
		t.Fatalf("lot edit: %d", code)
	}
	code, _, _ = seller.form(saleURL+"/publish", nil)
	if code != http.StatusSeeOther {
		t.Fatalf("publish: %d", code)
	}
	page := bidder.page(saleURL, http.StatusOK, "Tin robot, boxed", "Yo-yo", "Kite", `data-lot-number="3"`, "Not bid", "5.00 EUR</span> – <span class=\"money\" data-amount=\"800\">8.00 EUR")
	if strings.Index(page, "Tin robot") > strings.Index(page, "Kite") {
		t.Errorf("lots are not in lot order")
	}
	bidder.page(saleURL+"?filter=mine", http.StatusOK, "No lot matches.")
	bidder.page(base+"/sales", http.StatusOK, "Toys", "Upcoming")
	bidder.page(dash, http.StatusForbidden)
	// The seller cannot pause: admins only, with the reason on the page.
	var sale domain.SaleView
	seller.json(http.MethodGet, base+"/api/v1"+strings.TrimPrefix(saleURL, base), nil, http.StatusOK, &sale)
	if _, err := n.svc.PauseSale(context.Background(), domain.User{ID: sale.SellerID}, sale.ID, ""); err == nil {
		t.Fatal("the seller paused the sale")
	}
	code, body, _ = seller.form(saleURL+"/pause", nil)
	if code != http.StatusForbidden || !strings.Contains(body, "Only administrators") {
		t.Errorf("pause by the seller: %d\n%.1000s", code, body)
	}
}
