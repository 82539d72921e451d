package web

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// catalogueRows is how many lots a catalogue page shows. Its one stream
// carries every lot of the sale, so the page size only bounds the table.
const catalogueRows = 100

// routesSalePages registers the sales pages and their forms.
func (p *pages) routesSalePages() {
	if p.s.deps.Sales == nil {
		return
	}
	app := p.s.app
	app.Get("/sales", p.handleSalesPage)
	app.Get("/sales/new", p.handleSaleNewPage)
	app.Post("/sales/new", p.handleSaleNewForm)
	app.Get("/sales/:id", p.handleCataloguePage)
	app.Get("/sales/:id/dashboard", p.handleSaleDashboard)
	app.Get("/sales/:id/edit", p.handleSaleEditPage)
	app.Post("/sales/:id/edit", p.handleSaleEditForm)
	app.Get("/sales/:id/import", p.handleImportPage)
	p.s.uploadRoute(fiber.MethodPost, "/sales/:id/import", csvBodyLimit, p.handleImportForm)
	app.Get("/sales/:id/lots/new", p.handleLotNewPage)
	app.Post("/sales/:id/lots/new", p.handleLotNewForm)
	app.Get("/sales/:id/lots/:lot/edit", p.handleLotEditPage)
	app.Post("/sales/:id/lots/:lot/edit", p.handleLotEditForm)
	app.Post("/sales/:id/lots/:lot/withdraw", p.handleLotWithdrawForm)
	app.Post("/sales/:id/:action", p.handleSaleActionForm)
}

// saleCard is one sale in a list.
type saleCard struct {
	domain.SaleView
	Mine  bool
	Cover *domain.PhotoView // nil: none of its first lots has a photo
}

// salesData is the sales page's Data.
type salesData struct {
	Closing, Open, Upcoming []saleCard
	Mine                    []saleCard // the viewer's own, drafts included
}

// handleSalesPage lists the sales closing now, open and upcoming, and the
// viewer's own.
func (p *pages) handleSalesPage(c *fiber.Ctx) error {
	viewer, err := p.s.viewer(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	list, err := p.s.deps.Sales.Sales(ctx, domain.SaleFilter{})
	if err != nil {
		return err
	}
	var mine []domain.Sale
	if viewer.ID != 0 {
		mine, err = p.s.deps.Sales.Sales(ctx, domain.SaleFilter{SellerID: viewer.ID, Status: []domain.SaleStatus{
			domain.SaleDraft, domain.SaleScheduled, domain.SaleOpen, domain.SaleClosing, domain.SaleClosed}})
		if err != nil {
			return err
		}
	}
	ids := make([]int64, 0, len(list)+len(mine))
	for _, s := range append(list, mine...) {
		ids = append(ids, s.ID)
	}
	stats, err := p.s.deps.Sales.SaleStats(ctx, ids)
	if err != nil {
		return err
	}
	covers, err := p.saleCovers(ctx, ids)
	if err != nil {
		return err
	}
	pg := p.base(c, "Sales", "sales")
	card := func(s domain.Sale) saleCard {
		st := stats[s.ID]
		return saleCard{SaleView: s.View(&st, pg.ServerTime), Mine: s.SellerID == viewer.ID, Cover: covers[s.ID]}
	}
	var d salesData
	for _, s := range list {
		switch s.Status {
		case domain.SaleClosing:
			d.Closing = append(d.Closing, card(s))
		case domain.SaleOpen:
			d.Open = append(d.Open, card(s))
		default:
			d.Upcoming = append(d.Upcoming, card(s))
		}
	}
	for _, s := range mine {
		d.Mine = append(d.Mine, card(s))
	}
	pg.Data = d
	return p.r.render(c, fiber.StatusOK, "sales", pg)
}

// Catalogue filters.
const (
	filterAll    = "all"
	filterMine   = "mine"
	filterOpen   = "open"
	filterClosed = "closed"
	filterNext   = "next"
)

var catalogueFilters = []struct{ Key, Label string }{
	{filterAll, "All lots"}, {filterNext, "Closing next"}, {filterOpen, "Open"}, {filterClosed, "Closed"}, {filterMine, "My lots"},
}

// lotRow is one lot of the catalogue.
type lotRow struct {
	domain.AuctionView
	Price    int64
	MyAlias  string
	YouKind  string
	YouText  string
	CanBid   bool
	BidKey   string
	BidValue string
	Leader   string // the leader's name, for the seller and admins
	CanPull  bool   // may be withdrawn from this page
	CanEdit  bool   // the seller, before the lot's first bid
	Fee      rowFee // "Your bid → total with buyer's premium" (pages_fees.go)

	// As on a card (pages_catalogue.go): the lot's cover (nil: a
	// placeholder) and the watch button.
	Cover    *domain.PhotoView
	CanWatch bool
	Watching bool
	Back     string
}

// catalogueData is the catalogue page's (and the dashboard's) Data.
type catalogueData struct {
	Sale          domain.SaleView
	Filter        string
	Filters       []struct{ Key, Label string }
	Rows          []lotRow
	Total         int // lots matching the filter
	First         int // 1-based index of the first row shown
	Last          int
	Page          int
	PrevPage      int // 0: none
	NextPage      int
	LoggedIn      bool
	Manage        bool // the seller or an admin
	WatchCounts   bool // Manage, with each lot's watchlist count (watch.js keeps it live)
	Admin         bool
	Dashboard     bool
	BidsPerMinute int
	Self          string
	Error         string
}

// loadCatalogue reads a sale and the page of its lots a request asks for.
func (p *pages) loadCatalogue(c *fiber.Ctx, viewer domain.User) (catalogueData, domain.Sale, error) {
	var d catalogueData
	sale, err := p.s.visibleSale(c, viewer)
	if err != nil {
		return d, sale, err
	}
	ctx := c.UserContext()
	stats, err := p.s.deps.Sales.SaleStats(ctx, []int64{sale.ID})
	if err != nil {
		return d, sale, err
	}
	now := p.s.now()
	st := stats[sale.ID]
	d.Sale = sale.View(&st, now)
	d.LoggedIn, d.Admin = viewer.ID != 0, viewer.Admin
	d.Manage = mayManageSale(viewer, sale)
	d.WatchCounts = d.Manage && p.s.deps.Watchlist != nil
	d.Filters = catalogueFilters
	if d.Filter = c.Query("filter", filterAll); !isFilter(d.Filter) {
		d.Filter = filterAll // an unknown filter is not worth an error page
	}
	lots, err := p.s.deps.Sales.Lots(ctx, sale.ID)
	if err != nil {
		return d, sale, err
	}
	var aliases map[int64]string
	if viewer.ID != 0 {
		if aliases, err = p.s.deps.Sales.SaleAliases(ctx, sale.ID, viewer.ID); err != nil {
			return d, sale, err
		}
	}
	lots = filterLots(lots, d.Filter, aliases)
	d.Total = len(lots)
	d.Page = 1
	if n, err := strconv.Atoi(c.Query("page")); err == nil && n > 1 {
		d.Page = min(n, max(1, (len(lots)+catalogueRows-1)/catalogueRows))
	}
	from := (d.Page - 1) * catalogueRows
	to := min(from+catalogueRows, len(lots))
	if d.Page > 1 {
		d.PrevPage = d.Page - 1
	}
	if to < len(lots) {
		d.NextPage = d.Page + 1
	}
	d.First, d.Last = from+1, to
	for _, a := range lots[from:to] {
		d.Rows = append(d.Rows, newLotRow(a, viewer, aliases, now, d.Manage))
	}
	if err := p.decorateRows(c, viewer, lots[from:to], d.Rows); err != nil {
		return d, sale, err
	}
	return d, sale, nil
}

func isFilter(f string) bool {
	for _, x := range catalogueFilters {
		if x.Key == f {
			return true
		}
	}
	return false
}

// filterLots keeps the lots a filter shows, in its order: lot order, or
// end time for "closing next".
func filterLots(lots []domain.Auction, filter string, mine map[int64]string) []domain.Auction {
	out := make([]domain.Auction, 0, len(lots))
	for _, a := range lots {
		running := a.Status == domain.StatusOpen || a.Status == domain.StatusScheduled
		_, bid := mine[a.ID]
		switch {
		case filter == filterAll,
			filter == filterMine && bid,
			(filter == filterOpen || filter == filterNext) && running,
			filter == filterClosed && !running:
			out = append(out, a)
		}
	}
	if filter == filterNext {
		slices.SortStableFunc(out, func(a, b domain.Auction) int {
			if c := a.EndsAt.Compare(b.EndsAt); c != 0 {
				return c
			}
			return cmp.Compare(a.LotNumber, b.LotNumber)
		})
	}
	return out
}

// newLotRow is a lot as the viewer sees it in the catalogue.
func newLotRow(a domain.Auction, viewer domain.User, aliases map[int64]string, now time.Time, manage bool) lotRow {
	v := domain.View(a, viewer, now)
	r := lotRow{AuctionView: v, Price: shownPrice(v), MyAlias: aliases[a.ID]}
	r.YouKind, r.YouText = lotStatus(v, r.MyAlias != "")
	running := a.Status == domain.StatusOpen || a.Status == domain.StatusScheduled
	r.CanBid = viewer.ID != 0 && !viewer.Suspended && a.SellerID != viewer.ID && running
	if r.CanBid {
		r.BidKey = newFormKey()
		r.BidValue = domain.FormatAmount(v.MinNextBid, v.Currency)
		r.Fee = newRowFee(a, v.MinNextBid)
	}
	if manage {
		r.Leader = a.LeaderName
		r.CanPull = running && (viewer.Admin || domain.CanSellerEdit(a))
		r.CanEdit = viewer.ID == a.SellerID && domain.CanSellerEdit(a)
	}
	return r
}

// lotStatus is the viewer's state in one lot, as colour kind and text;
// sale.js keeps it current with the same words.
func lotStatus(v domain.AuctionView, bid bool) (kind, text string) {
	you := v.You
	switch {
	case you == nil:
		return "", ""
	case you.Seller:
		return "seller", "Your lot"
	case v.Status == domain.StatusCancelled:
		return "lost", "Withdrawn"
	case you.Leading && v.Status == domain.StatusClosed && v.Winner != "":
		return "won", "Won"
	case v.Status == domain.StatusClosed && bid:
		return "lost", "Lost"
	case you.Leading && v.HasReserve && !v.ReserveMet:
		return "reserve", "Leading, reserve not met"
	case you.Leading:
		return "leading", "Leading"
	case bid:
		return "outbid", "Outbid"
	}
	return "none", "Not bid"
}

// handleCataloguePage is the live catalogue of a sale.
func (p *pages) handleCataloguePage(c *fiber.Ctx) error {
	viewer, err := p.s.viewer(c)
	if err != nil {
		return err
	}
	d, sale, err := p.loadCatalogue(c, viewer)
	if err != nil {
		return err
	}
	d.Self = requestPath(c)
	return p.renderCatalogue(c, fiber.StatusOK, "sale", sale.Title, d)
}

// handleSaleDashboard is the seller's (and admins') live view of a sale:
// outcomes so far, bids per minute, watchers, and the lots with their
// leaders.
func (p *pages) handleSaleDashboard(c *fiber.Ctx) error {
	u, err := p.s.requireUser(c)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeUnauthorized {
			return toLogin(c, requestPath(c))
		}
		return err
	}
	d, sale, err := p.loadCatalogue(c, u)
	if err != nil {
		return err
	}
	if !d.Manage {
		return domain.ErrNotSeller
	}
	n, err := p.s.deps.Sales.SaleBidCount(c.UserContext(), sale.ID, p.s.now().Add(-time.Minute))
	if err != nil {
		return err
	}
	d.Dashboard, d.BidsPerMinute, d.Self = true, n, requestPath(c)
	return p.renderCatalogue(c, fiber.StatusOK, "saledash", "Dashboard: "+sale.Title, d)
}

func (p *pages) renderCatalogue(c *fiber.Ctx, status int, name, title string, d catalogueData) error {
	pg := p.base(c, title, "sales")
	// Guests see the catalogue live too, over a guest session.
	p.s.publicStream(c, &pg, catalogueStream(d))
	pg.Script = "js/sale.js"
	pg.Data = d
	return p.r.render(c, status, name, pg)
}

// catalogueStream is the stream of a catalogue page: the sale's, while it
// runs (never a draft's), with its watcher count on the seller's dashboard.
func catalogueStream(d catalogueData) string {
	switch d.Sale.Status {
	case domain.SaleScheduled, domain.SaleOpen, domain.SaleClosing:
	default:
		return ""
	}
	u := "/stream/sales/" + strconv.FormatInt(d.Sale.ID, 10)
	if d.Dashboard && d.Manage {
		u += "?watchers=1"
	}
	return u
}

// saleStatusLabel names a sale's state for people.
func saleStatusLabel(s domain.SaleStatus) string {
	switch s {
	case domain.SaleDraft:
		return "Draft"
	case domain.SaleScheduled:
		return "Upcoming"
	case domain.SaleOpen:
		return "Open"
	case domain.SaleClosing:
		return "Closing now"
	case domain.SaleClosed:
		return "Closed"
	case domain.SaleCancelled:
		return "Cancelled"
	}
	return string(s)
}

func filterLabel(key string) string {
	for _, f := range catalogueFilters {
		if f.Key == key {
			return f.Label
		}
	}
	return key
}
