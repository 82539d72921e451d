package main

import (
	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/web"
)

// wireSales gives the web layer the catalogue sales, which the bidding
// service runs (a lot's bids and its sale's cascade share one transaction).
func wireSales(deps *web.Deps, svc *bidding.Service) {
	deps.Sales = svc
	deps.SaleLeads = svc
}
