package notify

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	htmltemplate "html/template"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"

	"github.com/gavel-auctions/gavel/domain"
)

//go:embed templates
var templateFS embed.FS

var (
	htmlLetter = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/letter.html"))
	textLetter = texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/letter.txt"))
)

// fact is one labelled value of a letter ("Current price: €31.00").
type fact struct{ Label, Value string }

// action is a letter's one button, with its link.
type action struct{ Label, URL string }

// letter is what both parts of an email are rendered from. Every field is
// plain text: the HTML template escapes it.
type letter struct {
	Subject     string
	Heading     string
	Name        string
	Paragraphs  []string
	Facts       []fact
	Action      *action
	After       []string
	Why         string // "you bid on this lot": the footer of optional notices
	Unsubscribe string // signed link; "" for notices that cannot be turned off
	Preferences string
	Zone        string
}

// rendered is an email ready to hand to a transport.
type rendered struct {
	Subject string
	Text    string
	HTML    string
	// Unsubscribe is the one-click URL for List-Unsubscribe; "" for
	// notices that cannot be turned off.
	Unsubscribe string
}

func (l letter) render() (rendered, error) {
	var h, t bytes.Buffer
	if err := htmlLetter.Execute(&h, l); err != nil {
		return rendered{}, err
	}
	if err := textLetter.Execute(&t, l); err != nil {
		return rendered{}, err
	}
	return rendered{Subject: l.Subject, HTML: h.String(), Text: strings.ReplaceAll(t.String(), "\r", ""), Unsubscribe: l.Unsubscribe}, nil
}

// location returns the user's time zone, UTC when unset or unknown.
func location(tz string) *time.Location {
	if tz == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC
	}
	return loc
}

// when formats t in loc, with the zone's abbreviation and name so that
// "CET" is never ambiguous.
func when(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2 Jan 2006, 15:04 MST")
}

// oneLine makes user text (titles, reasons) safe for a subject line: no
// control characters, no line breaks, bounded length.
func oneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}

// compose renders notice n for user u. The auction, for notices about one,
// is read now, so an outbid email shows the price when it is sent.
func (s *Service) compose(ctx context.Context, n noticeRow, u domain.User) (rendered, error) {
	loc := location(u.TimeZone)
	l := letter{Name: oneLine(u.Name, 80), Zone: loc.String(), Preferences: s.url("/me/notifications", nil)}
	kind := domain.NoticeKind(n.Kind)
	if kind.Optional() {
		l.Unsubscribe = s.url("/unsubscribe", map[string]string{"token": s.sign(token{Purpose: purposeUnsub, UserID: u.ID, Extra: n.Kind})})
	}
	var e domain.Event
	if kind != domain.NoticeVerify && kind != domain.NoticeReset {
		if err := json.Unmarshal([]byte(n.Payload), &e); err != nil {
			return rendered{}, err
		}
	}
	var a domain.Auction
	if e.AuctionID != 0 {
		var err error
		if a, err = s.auctions.Auction(ctx, e.AuctionID); err != nil {
			return rendered{}, err
		}
	}
	title := oneLine(a.Title, 80)
	page := s.url("/auctions/"+strconv.FormatInt(a.ID, 10), nil)
	money := func(v int64) string { return domain.FormatMoney(v, a.Currency) }
	switch kind {
	case domain.NoticeOutbid:
		l.Subject = "You have been outbid on “" + title + "”"
		l.Heading = "You have been outbid"
		l.Paragraphs = []string{"Another bidder has outbid you on “" + title + "”."}
		l.Facts = []fact{{"Current price", money(a.CurrentPrice)}, {"Your next bid", "at least " + money(domain.MinNextBid(a))}, {"Ends", when(a.EndsAt, loc)}}
		if a.Status != domain.StatusOpen {
			l.Facts = l.Facts[:1]
			l.Paragraphs = append(l.Paragraphs, "The auction has ended since.")
		}
		l.Action = &action{"Bid again", page}
		l.Why = "you bid on this lot"
	case domain.NoticeWon:
		l.Subject = "You won “" + title + "”"
		l.Heading = "Congratulations: you won"
		l.Paragraphs = []string{"Your bid won “" + title + "”."}
		l.Facts = []fact{{"Winning price", money(a.CurrentPrice)}, {"Ended", when(a.EndsAt, loc)}}
		if inv := s.invoices.InvoiceURL(ctx, a.ID, u.ID); inv != "" {
			l.Action = &action{"View your invoice", s.absolute(inv)}
			l.After = []string{"The invoice shows what to pay, with no fees beyond those it lists, and how to pay it."}
		} else {
			l.Action = &action{"View the lot", page}
			l.After = []string{"What happens next: you pay the winning price to the seller, who then ships the lot. You will get an invoice saying how to pay; it adds nothing that was not shown before you bid."}
		}
		l.Why = "you bid on this lot"
	case domain.NoticeSold:
		l.Subject = "Your lot “" + title + "” sold for " + money(a.CurrentPrice)
		l.Heading = "Your lot sold"
		l.Paragraphs = []string{"“" + title + "” sold to " + oneLine(a.LeaderAlias, 40) + "."}
		l.Facts = []fact{{"Price", money(a.CurrentPrice)}, {"Bids", strconv.Itoa(a.BidCount)}, {"Ended", when(a.EndsAt, loc)}}
		l.Action = &action{"View the lot", page}
		l.After = []string{"What happens next: the buyer is invoiced; ship the lot once they have paid."}
		l.Why = "you sell this lot"
	case domain.NoticeUnsold:
		l.Subject = "Your lot “" + title + "” closed unsold"
		l.Heading = "Your lot closed unsold"
		reason := "It received no bids."
		if a.BidCount > 0 {
			reason = "The bids did not reach your reserve price."
		}
		l.Paragraphs = []string{"“" + title + "” has ended without a sale. " + reason}
		l.Facts = []fact{{"Bids", strconv.Itoa(a.BidCount)}, {"Ended", when(a.EndsAt, loc)}}
		l.Action = &action{"View the lot", page}
		l.Why = "you sell this lot"
	case domain.NoticeEndingSoon:
		l.Subject = "“" + title + "” ends soon"
		l.Heading = "A lot you watch ends soon"
		l.Paragraphs = []string{"“" + title + "” is about to end."}
		price := a.StartPrice
		if a.BidCount > 0 {
			price = a.CurrentPrice
		}
		l.Facts = []fact{{"Current price", money(price)}, {"Ends", when(a.EndsAt, loc)}}
		l.Action = &action{"View the lot", page}
		l.Why = "you watch this lot"
	case domain.NoticeBidCancelled:
		l.Subject = "A bid of yours on “" + title + "” was cancelled"
		l.Heading = "An administrator cancelled one of your bids"
		l.Paragraphs = []string{"Your bid of " + money(e.BidAmount) + " on “" + title + "” was cancelled and no longer counts."}
		if r := oneLine(e.Reason, 500); r != "" {
			l.Facts = []fact{{"Reason", r}}
		}
		l.Action = &action{"View the lot", page}
		l.Why = "you bid on this lot"
	case domain.NoticeSuspended:
		l.Subject = "Your Gavel account was suspended"
		l.Heading = "Your account was suspended"
		l.Paragraphs = []string{"An administrator suspended your account. You can still log in and look, but not bid or sell. Your bids on running auctions no longer count, and your listings that had not ended were cancelled."}
		if r := oneLine(e.Reason, 500); r != "" {
			l.Facts = []fact{{"Reason", r}}
		}
		l.After = []string{"If you think this is a mistake, reply to this email."}
	case domain.NoticeReinstated:
		l.Subject = "Your Gavel account was reinstated"
		l.Heading = "Your account was reinstated"
		l.Paragraphs = []string{"An administrator lifted the suspension of your account: you may bid and sell again. Bids and listings cancelled by the suspension stay cancelled."}
		if r := oneLine(e.Reason, 500); r != "" {
			l.Facts = []fact{{"Reason", r}}
		}
		l.Action = &action{"Go to Gavel", s.url("/", nil)}
	case domain.NoticeVerify:
		l.Subject = "Confirm your email address for Gavel"
		l.Heading = "Confirm your email address"
		l.Paragraphs = []string{"Follow the link below to confirm that this is your address."}
		if s.cfg.RequireVerified {
			l.Paragraphs[0] += " Until then you may watch auctions, but not bid or sell."
		}
		l.Action = &action{"Confirm my address", s.url("/verify", map[string]string{"token": s.signStored(n.Payload)})}
		l.After = []string{"The link works for " + humanDuration(s.cfg.VerifyTTL) + ". If you did not register at Gavel, ignore this email."}
	case domain.NoticeReset:
		l.Subject = "Reset your Gavel password"
		l.Heading = "Reset your password"
		l.Paragraphs = []string{"Someone, probably you, asked to reset the password of your Gavel account. Follow the link below to choose a new one. Every session of your account ends when you do."}
		l.Action = &action{"Choose a new password", s.url("/reset", map[string]string{"token": s.signStored(n.Payload)})}
		l.After = []string{"The link works once, for " + humanDuration(s.cfg.ResetTTL) + ". If you did not ask for it, ignore this email: your password stays as it is."}
	default:
		return rendered{}, &permanentError{"unknown notice kind " + strconv.Quote(n.Kind)}
	}
	return l.render()
}

func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	case d >= time.Hour && d%time.Hour == 0:
		if d == time.Hour {
			return "one hour"
		}
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	}
	return strconv.Itoa(int(d/time.Minute)) + " minutes"
}
