package notify

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/smtptest"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// parts returns the text and HTML parts of a multipart/alternative message.
func parts(t *testing.T, m smtptest.Message) (text, html string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p) // multipart decodes quoted-printable
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			text = string(body)
		case "text/html":
			html = string(body)
		}
	}
	if text == "" || html == "" {
		t.Fatalf("missing a part: text %d bytes, html %d bytes", len(text), len(html))
	}
	return text, html
}

// linkAfter returns the first link in text that starts with prefix.
func linkAfter(t *testing.T, text, prefix string) string {
	t.Helper()
	for _, f := range strings.Fields(text) {
		if strings.HasPrefix(f, prefix) {
			return f
		}
	}
	t.Fatalf("no link starting %s in:\n%s", prefix, text)
	return ""
}

func byKind(msgs []smtptest.Message) map[string][]smtptest.Message {
	out := map[string][]smtptest.Message{}
	for _, m := range msgs {
		k := m.Header.Get("X-Gavel-Notice")
		out[k] = append(out[k], m)
	}
	return out
}

// TestDeliveryEndToEnd: committed events become email on a real SMTP
// server: both parts, the headers (stable Message-ID, RFC 8058
// unsubscribe on optional notices only), the user's time zone and the
// currency's format, and links that work when followed.
func TestDeliveryEndToEnd(t *testing.T) {
	w := mustWorld(t, testpg.DB(t))
	srv, err := smtptest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	n := w.startNotifier(smtpTransport(srv), testConfig(w))
	ctx := context.Background()

	seller, x, y, z, admin := w.user("Seller"), w.user("Xavier"), w.user("Yoko"), w.user("Zed"), w.admin()
	if err := w.svc.SetTimeZone(ctx, x.ID, "Asia/Tokyo"); err != nil {
		t.Fatal(err)
	}
	a := w.auction(seller, "Brass clock")
	w.bid(x, a.ID, 1000)
	w.bid(y, a.ID, 1100) // x is outbid
	other := w.auction(seller, "Teapot")
	struck := w.bid(z, other.ID, 1000)
	if _, err := w.svc.CancelBid(ctx, admin, other.ID, struck.BidID, "shill bidding"); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.SuspendUser(ctx, admin, z.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.UnsuspendUser(ctx, admin, z.ID, "appeal upheld"); err != nil {
		t.Fatal(err)
	}
	// outbid x, bid_cancelled z, suspended z, reinstated z; then the
	// auctions close.
	if !srv.WaitFor(4, 30*time.Second) {
		t.Fatalf("got %d messages, want 4: %v", srv.Count(), statusCounts(t, w.db))
	}
	w.clock.add(time.Hour + 5*time.Second)
	if _, err := w.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	// and won y, sold seller (clock), unsold seller (teapot).
	if !srv.WaitFor(7, 30*time.Second) {
		t.Fatalf("got %d messages, want 7: %v", srv.Count(), statusCounts(t, w.db))
	}
	time.Sleep(300 * time.Millisecond)
	msgs := srv.Messages()
	kinds := byKind(msgs)
	for _, k := range []string{"outbid", "won", "sold", "unsold", "bid_cancelled", "suspended", "reinstated"} {
		if len(kinds[k]) != 1 {
			t.Errorf("%d %s emails, want 1", len(kinds[k]), k)
		}
	}
	if len(msgs) != 7 {
		t.Fatalf("%d messages, want 7", len(msgs))
	}

	out := kinds["outbid"][0]
	if out.To[0] != x.Email || out.From != "gavel@gavel.example" {
		t.Errorf("outbid envelope from %s to %v", out.From, out.To)
	}
	h := out.Header
	if got := h.Get("Subject"); got != "You have been outbid on “Brass clock”" {
		dec, _ := new(mime.WordDecoder).DecodeHeader(got)
		if dec != "You have been outbid on “Brass clock”" {
			t.Errorf("Subject %q", dec)
		}
	}
	if want := messageID(x.ID, "outbid", "", "gavel.example"); !strings.HasSuffix(out.MessageID, "@gavel.example") || len(out.MessageID) != len(want) {
		t.Errorf("Message-ID %q, want a stable id at gavel.example", out.MessageID)
	}
	if h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || !strings.HasPrefix(h.Get("List-Unsubscribe"), "<https://gavel.example/unsubscribe?token=") {
		t.Errorf("unsubscribe headers %q / %q", h.Get("List-Unsubscribe"), h.Get("List-Unsubscribe-Post"))
	}
	text, html := parts(t, out)
	for _, want := range []string{"Hello Xavier", domain.FormatMoney(1100, "EUR"), "JST", "https://gavel.example/auctions/"} {
		if !strings.Contains(text, want) || !strings.Contains(html, strings.ReplaceAll(want, "'", "&#39;")) {
			t.Errorf("outbid email lacks %q:\n%s", want, text)
		}
	}
	if link := linkAfter(t, text, "https://gavel.example/auctions/"); link != "https://gavel.example/auctions/"+itoa(a.ID) {
		t.Errorf("lot link %s", link)
	}

	// The footer's unsubscribe link, followed, turns outbid mail off for
	// x alone; the same token cannot be bent to another kind.
	unsub := linkAfter(t, text, "https://gavel.example/unsubscribe?token=")
	u, _ := url.Parse(unsub)
	tok := u.Query().Get("token")
	who, kind, err := n.Unsubscribe(ctx, tok)
	if err != nil || who.ID != x.ID || kind != domain.NoticeOutbid {
		t.Fatalf("unsubscribe: %v %s %v", who.ID, kind, err)
	}
	prefs, _ := n.Prefs(ctx, x)
	for _, p := range prefs.Kinds {
		if p.Enabled != (p.Kind != domain.NoticeOutbid) {
			t.Errorf("after unsubscribing %s enabled=%v", p.Kind, p.Enabled)
		}
	}
	if _, _, err := n.Unsubscribe(ctx, tok[:len(tok)-2]+"xx"); err != domain.ErrTokenInvalid {
		t.Errorf("tampered token: %v", err)
	}

	sus := kinds["suspended"][0]
	if sus.Header.Get("List-Unsubscribe") != "" {
		t.Error("the suspension email offers an unsubscribe")
	}
	st, _ := parts(t, sus)
	if !strings.Contains(st, "Reason: spam") || strings.Contains(st, "/unsubscribe") {
		t.Errorf("suspension email:\n%s", st)
	}
	bc, _ := parts(t, kinds["bid_cancelled"][0])
	if !strings.Contains(bc, "shill bidding") || !strings.Contains(bc, domain.FormatMoney(1000, "EUR")) {
		t.Errorf("bid_cancelled email:\n%s", bc)
	}
	won, _ := parts(t, kinds["won"][0])
	if !strings.Contains(won, "What happens next") || !strings.Contains(won, domain.FormatMoney(1100, "EUR")) {
		t.Errorf("won email:\n%s", won)
	}
	if c := statusCounts(t, w.db); c["sent"] != 7 || c["pending"] != 0 || c["failed"] != 0 {
		t.Errorf("notices %v, want 7 sent", c)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
