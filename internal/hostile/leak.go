package hostile

import (
	"fmt"
	"strings"
)

// The leak scan reads every response the suite received as a given
// actor and looks for what that actor must not see: the reserve and the
// proxy maximum of the world's auction, other people's emails and names,
// password hashes, and server internals.

// secret is something hidden, with its forms on the wire and who may see it.
type secret struct {
	what  string
	forms []string
	// seenBy are the actors allowed to see it.
	seenBy []string
	// shownOn are the routes (method and path prefixes) where anyone may
	// see it, because the authorization matrix already limits who gets
	// those pages at all.
	shownOn []string
}

// invoiceRoutes show the seller's name and email to the invoice's buyer:
// an invoice names who to pay (#17). The matrix checks that nobody but
// the two parties and admins gets an invoice.
var invoiceRoutes = []string{"GET /api/v1/me/invoices", "GET /me/invoices", "GET /api/v1/invoices/", "GET /invoices/"}

func amountForms(minor int) []string {
	s := fmt.Sprintf("%d.%02d", minor/100, minor%100)
	withComma := fmt.Sprintf("%d,%03d.%02d", minor/100000, (minor/100)%1000, minor%100)
	return []string{fmt.Sprint(minor), s, withComma}
}

// secrets lists what each viewer may not see in w.
func (w *world) secrets() []secret {
	out := []secret{
		{what: "the reserve", forms: amountForms(reserveSentinel), seenBy: []string{"seller", "admin"}},
		{what: "the bidder's proxy maximum", forms: amountForms(maxSentinel), seenBy: []string{"bidder"}},
		{what: "a password hash", forms: []string{"$2a$", "$2b$"}},
		{what: "server internals", forms: []string{"SQLSTATE", "goroutine ", "panic:", "runtime error", ".go:", "gorm.io", "pgconn"}},
	}
	for _, name := range actorNames {
		a := w.actors[name]
		if name == "anon" || name == "admin" {
			continue
		}
		// A seller sees the name and email behind each alias on their own
		// lots (#12 point 6), and in the matrix every bidding actor bids
		// on the seller's; everyone else sees bidders by alias only.
		seen := []string{name, "admin", "seller"}
		sec := secret{what: name + "'s email", forms: []string{a.acct.Email}, seenBy: seen}
		if name == "seller" {
			sec.shownOn = invoiceRoutes
		}
		out = append(out, sec)
		if name != "seller" {
			out = append(out, secret{what: name + "'s name", forms: []string{a.acct.Name}, seenBy: seen})
		}
	}
	return out
}

// exchange is one response as seen by one actor.
type exchange struct {
	actor, what string
	resp        response
}

// scanLeaks returns a line per secret found where it must not be.
func (w *world) scanLeaks(seen []exchange) []string {
	var out []string
	found := map[string]bool{}
	for _, s := range w.secrets() {
		for _, e := range seen {
			if contains(s.seenBy, e.actor) || hasAnyPrefix(e.what, s.shownOn) {
				continue
			}
			text := e.resp.Body + "\n" + headerText(e.resp)
			for _, f := range s.forms {
				if i := indexWhole(text, f); i >= 0 {
					key := s.what + e.actor + e.what
					if !found[key] {
						found[key] = true
						out = append(out, fmt.Sprintf("%s leaks %s to %s: …%s…", e.what, s.what, e.actor, excerpt(text, i, len(f))))
					}
					break
				}
			}
		}
	}
	return out
}

// indexWhole is strings.Index, except that a form that begins or ends
// with a digit must not be part of a longer number: an amount is not
// found inside a timestamp's nanoseconds.
func indexWhole(text, form string) int {
	isDigit := func(b byte) bool { return b >= '0' && b <= '9' }
	for from := 0; from < len(text); {
		i := strings.Index(text[from:], form)
		if i < 0 {
			return -1
		}
		i += from
		end := i + len(form)
		digitBefore := i > 0 && isDigit(form[0]) && isDigit(text[i-1])
		digitAfter := end < len(text) && isDigit(form[len(form)-1]) && isDigit(text[end])
		if !digitBefore && !digitAfter {
			return i
		}
		from = i + 1
	}
	return -1
}

func headerText(r response) string {
	var b strings.Builder
	for k, vs := range r.Header {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return b.String()
}

func excerpt(s string, i, n int) string {
	from, to := max(0, i-40), min(len(s), i+n+40)
	return strings.ReplaceAll(s[from:to], "\n", " ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
