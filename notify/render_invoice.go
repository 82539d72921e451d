package notify

import (
	"github.com/gavel-auctions/gavel/domain"
)

func noteID(e domain.Event) int64 {
	if e.Invoice == nil {
		return 0
	}
	return e.Invoice.ID
}

// invoiceChanges word an invoice event's change for the buyer's email.
var invoiceChanges = map[string]string{
	"issued":    "was issued",
	"paid":      "is marked paid: thank you",
	"shipped":   "was shipped",
	"collected": "was collected",
	"cancelled": "was cancelled by a credit note",
	"overdue":   "is overdue",
}

// composeInvoice writes the email of an invoice event.
func composeInvoice(l *letter, e domain.Event, u domain.User, link string) {
	inv := e.Invoice
	if inv == nil {
		return
	}
	kind := "Invoice "
	if inv.Kind == domain.KindCreditNote {
		kind = "Credit note "
	}
	what := invoiceChanges[inv.Change]
	if what == "" {
		what = "changed"
	}
	l.Subject = kind + inv.Reference + " " + what
	l.Heading = kind + inv.Reference
	l.Paragraphs = []string{kind + inv.Reference + " " + what + "."}
	l.Facts = []fact{{"Total", domain.FormatMoney(inv.Total, e.Currency)}}
	if inv.Kind == domain.KindInvoice && (inv.Change == "issued" || inv.Change == "overdue") {
		l.Facts = append(l.Facts, fact{"Due", when(inv.DueAt, location(u.TimeZone))})
		l.After = []string{"The invoice says how to pay, and lets you choose delivery or collection where the seller offers both."}
	}
	if inv.Change == "overdue" && u.ID == inv.SellerID {
		l.Paragraphs = []string{kind + inv.Reference + " is past its due date and unpaid. You may remind the buyer, or cancel it with a credit note and offer the lot to the next bidder."}
	}
	l.Action = &action{"View the invoice", link}
	l.Why = "you are a party to this invoice"
}

// composeOffer writes the email of an offer event.
func composeOffer(l *letter, e domain.Event, title string, u domain.User, link string) {
	o := e.Offer
	if o == nil {
		return
	}
	money := domain.FormatMoney(o.Amount, e.Currency)
	if o.Status == domain.OfferOpen {
		l.Subject = "An offer for “" + title + "”: " + money
		l.Heading = "The seller offers you the lot"
		why := "The lot did not reach its reserve; you were the highest bidder, so the seller offers it to you at your maximum bid."
		if o.Kind == domain.OfferSecondChance {
			why = "The winner did not complete the purchase, so the seller offers the lot to you at your highest bid."
		}
		l.Paragraphs = []string{why}
		l.Facts = []fact{{"Price", money + " plus the fees stated on the lot"}, {"Open until", when(o.ExpiresAt, location(u.TimeZone))}}
		l.Action = &action{"Accept or decline", link}
		l.Why = "you bid on this lot"
		return
	}
	l.Subject = "Your offer for “" + title + "” was " + string(o.Status)
	l.Heading = "Your offer was " + string(o.Status)
	l.Paragraphs = []string{"Your offer of “" + title + "” at " + money + " was " + string(o.Status) + "."}
	if o.Status == domain.OfferAccepted {
		l.Paragraphs = append(l.Paragraphs, "The buyer has been invoiced.")
	}
	l.Action = &action{"See your offers", link}
	l.Why = "you sell this lot"
}
