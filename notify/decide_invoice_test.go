package notify

import (
	"testing"

	"github.com/gavel-auctions/gavel/domain"
)

// TestDecideInvoiceAndOffer: buyers are emailed every invoice change but
// their own checkout, sellers only overdue invoices; bidders hear of
// offers, sellers of the answers; each notice is keyed by the change.
func TestDecideInvoiceAndOffer(t *testing.T) {
	t.Parallel()
	const buyer, seller = 5, 7
	inv := func(to int64, change string) domain.Event {
		return domain.Event{Type: domain.EventInvoice, UserID: to,
			Invoice: &domain.InvoiceNote{ID: 3, BuyerID: buyer, SellerID: seller, Change: change}}
	}
	off := func(to int64, st domain.OfferStatus) domain.Event {
		return domain.Event{Type: domain.EventOffer, UserID: to, Offer: &domain.OfferNote{ID: 4, BuyerID: buyer, SellerID: seller, Status: st}}
	}
	tests := []struct {
		name string
		e    domain.Event
		key  string // "" for no notice
	}{
		{"issued to the buyer", inv(buyer, "issued"), "invoice:3:issued"},
		{"issued to the seller", inv(seller, "issued"), ""},
		{"the buyer's own checkout", inv(buyer, "checkout"), ""},
		{"paid to the buyer", inv(buyer, "paid"), "invoice:3:paid"},
		{"overdue to the seller", inv(seller, "overdue"), "invoice:3:overdue"},
		{"overdue to the buyer", inv(buyer, "overdue"), "invoice:3:overdue"},
		{"offer made, to the bidder", off(buyer, domain.OfferOpen), "offer:4:open"},
		{"offer made, to the seller", off(seller, domain.OfferOpen), ""},
		{"offer accepted, to the seller", off(seller, domain.OfferAccepted), "offer:4:accepted"},
		{"offer accepted, to the bidder", off(buyer, domain.OfferAccepted), ""},
	}
	for _, tt := range tests {
		ns := decide(tt.e, "{}")
		switch {
		case tt.key == "" && len(ns) != 0:
			t.Errorf("%s: got %+v, want none", tt.name, ns)
		case tt.key != "" && (len(ns) != 1 || ns[0].Key != tt.key || ns[0].UserID != tt.e.UserID):
			t.Errorf("%s: got %+v, want one keyed %s", tt.name, ns, tt.key)
		}
	}
}
