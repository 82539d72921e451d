package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// Session keys the pages use for one-shot messages after a redirect.
const (
	sessionFlashKey     = "flash"
	sessionBidResultKey = "bid_result"
)

// Page list sizes. A list page watches its running auctions over one
// multiplexed stream, which accepts at most maxStreamIDs of them.
const (
	homeListLimit    = 50
	myBidsLimit      = maxStreamIDs
	myListingsLimit  = maxMyListings
	adminListLimit   = 500
	adminUsersLimit  = 200
	adminAuditLimit  = 50
	pageBidsLimit    = 50
	maxNextParamSize = 2048
)

// pages holds the HTML handlers: the server for its dependencies and
// session helpers, and the renderer for templates and assets.
type pages struct {
	s *Server
	r *renderer
}

// routesPages registers the server-rendered pages, their form posts and
// the static assets, and installs the HTML error page for non-API paths.
func (s *Server) routesPages() {
	r, err := newRenderer()
	if err != nil {
		// The templates are embedded at build time, so this is a bug in
		// the binary itself, caught by every test that builds a server.
		panic(err)
	}
	p := &pages{s: s, r: r}
	s.pages = p
	s.htmlError = p.renderError

	s.app.Get("/static/*", r.handleStatic)
	s.app.Get("/favicon.ico", func(c *fiber.Ctx) error {
		return c.Redirect(r.staticURL("favicon.svg"), fiber.StatusFound)
	})

	s.app.Get("/", p.handleHome)
	s.app.Get("/auctions/:id", p.handleAuctionPage)
	s.app.Post("/auctions/:id/bid", p.handleBidForm)
	s.app.Get("/auctions/:id/edit", p.handleEditPage)
	p.listingRoute("/auctions/:id/edit", p.handleEditForm)
	s.app.Post("/auctions/:id/cancel", p.handleCancelForm)
	s.app.Get("/me/bids", p.handleMyBids)
	s.app.Get("/me/listings", p.handleMyListings)
	s.app.Get("/sell", p.handleSellPage)
	p.listingRoute("/sell", p.handleSellForm)
	p.routesPhotoPages()

	s.app.Get("/admin", p.handleAdminPage)
	s.app.Post("/admin/auctions/:id/cancel", p.handleAdminCancelForm)
	s.app.Post("/admin/auctions/:id/bids/:bid/cancel", p.handleAdminBidCancelForm)
	s.app.Post("/admin/users/suspend", p.handleAdminSuspendForm)

	s.app.Get("/login", p.handleLoginPage)
	s.app.Post("/login", p.handleLoginForm)
	s.app.Get("/register", p.handleRegisterPage)
	s.app.Post("/register", p.handleRegisterForm)
	s.app.Post("/logout", p.handleLogoutForm)
	p.routesSalePages()
}

// base starts a page for the request: the viewer, a pending flash message
// and the server clock.
func (p *pages) base(c *fiber.Ctx, title, nav string) page {
	pg := page{Title: title, Nav: nav, ServerTime: p.s.now()}
	pg.HasSearch, pg.HasWatchlist = p.s.deps.Search != nil, p.s.deps.Watchlist != nil
	if u, ok := p.s.currentUser(c); ok {
		pg.User = &u
	}
	pg.Flash = p.pop(c, sessionFlashKey)
	pg.VerifyNotice = p.verifyNotice(pg.User)
	pg.Mail = p.s.deps.Notices != nil
	pg.Invoices = p.s.deps.Invoicing != nil
	pg.Self = requestPath(c)
	return pg
}

// sessionLoaded reports whether the session middleware ran for c; scs
// panics on a context without a session (e.g. a 404 under /static/).
func sessionLoaded(c *fiber.Ctx) bool {
	loaded, _ := c.Locals(localsSession).(bool)
	return loaded
}

// pop takes a one-shot message out of the session. It only marks the
// session modified when there was something to take.
func (p *pages) pop(c *fiber.Ctx, key string) string {
	if !sessionLoaded(c) {
		return ""
	}
	return p.s.deps.Sessions.PopString(c.UserContext(), key)
}

// flash stores a message to show on the next page.
func (p *pages) flash(c *fiber.Ctx, key, msg string) {
	if sessionLoaded(c) {
		p.s.deps.Sessions.Put(c.UserContext(), key, msg)
	}
}

// seeOther redirects after a successful form post (POST/redirect/GET).
func seeOther(c *fiber.Ctx, to string) error {
	return c.Redirect(to, fiber.StatusSeeOther)
}

// toLogin sends an anonymous visitor to the login page, to return to next.
func toLogin(c *fiber.Ctx, next string) error {
	return seeOther(c, "/login?next="+url.QueryEscape(next))
}

// requestPath is the path and query of the request, for ?next=.
func requestPath(c *fiber.Ctx) string {
	return string(c.Request().URI().RequestURI())
}

// safeNext returns next if it is a path on this site, else "". It refuses
// absolute URLs, scheme-relative "//host" and the "/\host" that browsers
// also read as another host, so ?next= cannot send anyone elsewhere.
func safeNext(next string) string {
	if next == "" || len(next) > maxNextParamSize || next[0] != '/' {
		return ""
	}
	if strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\") {
		return ""
	}
	for i := 0; i < len(next); i++ {
		if next[i] < 0x20 || next[i] == 0x7f {
			return ""
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return ""
	}
	return next
}

// errorHeadings title the error page by status.
var errorHeadings = map[int]string{
	http.StatusBadRequest:          "That request did not make sense",
	http.StatusUnauthorized:        "Please log in",
	http.StatusForbidden:           "Not allowed",
	http.StatusNotFound:            "Page not found",
	http.StatusConflict:            "That cannot be done now",
	http.StatusGone:                "No longer available",
	http.StatusTooManyRequests:     "Slow down",
	http.StatusServiceUnavailable:  "Temporarily unavailable",
	http.StatusInternalServerError: "Something went wrong",
}

// errorData is the error page's Data.
type errorData struct {
	Status  int
	Heading string
	Message string
}

// renderError is the HTML error hook of the one error adapter
// (Server.handleError): message is already safe to show, and internal
// errors arrive with a generic one.
func (p *pages) renderError(c *fiber.Ctx, status int, message string) error {
	heading, ok := errorHeadings[status]
	if !ok {
		heading = http.StatusText(status)
		if status >= 500 {
			heading = errorHeadings[http.StatusInternalServerError]
		}
	}
	pg := page{Title: heading, Nav: "error", ServerTime: p.s.now(),
		Data: errorData{Status: status, Heading: heading, Message: message}}
	pg.HasSearch, pg.HasWatchlist = p.s.deps.Search != nil, p.s.deps.Watchlist != nil
	if u, ok := p.s.currentUser(c); ok {
		pg.User = &u
	}
	if err := p.r.render(c, status, "error", pg); err != nil {
		// Last resort: the error page itself failed.
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.Status(status).SendString(message)
	}
	return nil
}

// pageProblem resolves err through the one code-to-status table and says
// whether a form may show it: any 4xx is the visitor's to fix; anything
// else goes to the error adapter.
func pageProblem(err error) (problem, bool) {
	pr := resolve(err)
	return pr, pr.status >= 400 && pr.status < 500
}

// cardView is one auction in a list.
type cardView struct {
	domain.AuctionView
	CurrentOrStart int64
	MyAlias        string // the viewer's alias here, when known (they lead)
	Mine           bool
	Badge          *badge
	ShowWatchers   bool
	WatcherCount   int
	ShowViewers    bool  // My listings: "Viewing now", live (list.js polls)
	Viewing        int64 // people with this auction open now, when known
	ViewingKnown   bool
	Actions        bool
	CanEdit        bool
	Cover          *domain.PhotoView // nil: no photo
	ManagePhotos   bool              // the seller's list: link to the photo page
	// The watch button: shown when the viewer may watch the lot (or
	// unwatch it); Back is where its no-JavaScript form returns to.
	CanWatch bool
	Watching bool
	Back     string
}

// badge is a small labelled state: leading, outbid, won, …
type badge struct {
	Kind string
	Text string
}

// shownPrice is the price a list shows: the start price until the first bid.
func shownPrice(v domain.AuctionView) int64 {
	if v.BidCount > 0 {
		return v.CurrentPrice
	}
	return v.StartPrice
}

func newCard(a domain.Auction, viewer domain.User, now time.Time) cardView {
	v := domain.View(a, viewer, now)
	return cardView{AuctionView: v, CurrentOrStart: shownPrice(v), Mine: viewer.ID != 0 && a.SellerID == viewer.ID}
}

// streamURL is the multiplexed stream of the running auctions among cards.
func streamURL(cards []cardView) string {
	ids := make([]string, 0, len(cards))
	for _, c := range cards {
		if c.Status == domain.StatusOpen || c.Status == domain.StatusScheduled {
			ids = append(ids, strconv.FormatInt(c.ID, 10))
		}
		if len(ids) == maxStreamIDs {
			break
		}
	}
	if len(ids) == 0 {
		return ""
	}
	return "/stream/auctions?ids=" + strings.Join(ids, ",")
}

// homeData is the home page's Data.
type homeData struct {
	Query      string
	QueryError string // why the search was refused
	Status     string
	Statuses   []domain.Status
	Cards      []cardView
	Self       string
}

// handleHome lists open and upcoming auctions (or those of ?status=),
// optionally searched by title (?q=). Logged-in visitors get live updates.
func (p *pages) handleHome(c *fiber.Ctx) error {
	viewer, err := p.s.viewer(c)
	if err != nil {
		return err
	}
	q := strings.TrimSpace(c.Query("q"))
	// Browsing shows single listings; a sale's lots are in its catalogue
	// (/sales). A search finds both.
	f := domain.AuctionFilter{Query: q, Limit: homeListLimit, NoLots: q == ""}
	status := c.Query("status")
	switch st := domain.Status(status); st {
	case domain.StatusOpen, domain.StatusScheduled, domain.StatusClosed, domain.StatusCancelled:
		f.Status = []domain.Status{st}
	default:
		// An unknown filter is not worth an error page: show the default.
		status = ""
		f.Status = []domain.Status{domain.StatusOpen, domain.StatusScheduled}
	}
	code := fiber.StatusOK
	var list []domain.Auction
	// Text no title can hold matches nothing: the form says why, beside
	// the box, and the database never sees it.
	queryError := domain.TextProblem(q, domain.SearchText)
	if queryError != "" {
		code = fiber.StatusUnprocessableEntity
	} else if list, err = p.s.deps.Reader.Auctions(c.UserContext(), f); err != nil {
		return err
	}
	pg := p.base(c, "Auctions", "home")
	now := pg.ServerTime
	data := homeData{Query: q, QueryError: queryError, Status: status, Self: requestPath(c),
		Statuses: []domain.Status{domain.StatusOpen, domain.StatusScheduled, domain.StatusClosed, domain.StatusCancelled}}
	for _, a := range list {
		data.Cards = append(data.Cards, newCard(a, viewer, now))
	}
	if err := p.decorateCards(c, viewer, list, data.Cards, data.Self); err != nil {
		return err
	}
	p.s.publicStream(c, &pg, streamURL(data.Cards))
	if pg.Stream != "" || pg.User != nil {
		pg.Script = "js/list.js"
	}
	pg.Data = data
	return p.r.render(c, code, "home", pg)
}

// handleMyBids lists the auctions the viewer has bid on, with a
// leading/outbid badge on each.
func (p *pages) handleMyBids(c *fiber.Ctx) error {
	u, err := p.s.requireUser(c)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeUnauthorized {
			return toLogin(c, requestPath(c))
		}
		return err
	}
	list, err := p.s.deps.Reader.Auctions(c.UserContext(), domain.AuctionFilter{BidderID: u.ID, Limit: myBidsLimit})
	if err != nil {
		return err
	}
	pg := p.base(c, "My bids", "bids")
	cards := make([]cardView, 0, len(list))
	for _, a := range list {
		card := newCard(a, u, pg.ServerTime)
		leading := a.LeaderID == u.ID
		if leading {
			card.MyAlias = a.LeaderAlias
		}
		card.Badge = bidBadge(card.AuctionView, leading)
		cards = append(cards, card)
	}
	if err := p.decorateCards(c, u, list, cards, "/me/bids"); err != nil {
		return err
	}
	pg.Stream = streamURL(cards)
	pg.Script = "js/list.js"
	pg.Data = struct{ Cards []cardView }{cards}
	return p.r.render(c, fiber.StatusOK, "mybids", pg)
}

// bidBadge is a bidder's state in one auction; list.js computes the same
// labels when events arrive.
func bidBadge(v domain.AuctionView, leading bool) *badge {
	switch {
	case v.Status == domain.StatusCancelled:
		return &badge{"lost", "Cancelled"}
	case v.Status == domain.StatusClosed && leading && v.Winner != "":
		return &badge{"won", "Won"}
	case v.Status == domain.StatusClosed && leading:
		return &badge{"lost", "Reserve not met"}
	case v.Status == domain.StatusClosed:
		return &badge{"lost", "Lost"}
	case !leading:
		return &badge{"outbid", "Outbid"}
	case v.HasReserve && !v.ReserveMet:
		return &badge{"reserve", "Leading, reserve not met"}
	}
	return &badge{"leading", "Leading"}
}

// handleMyListings is the seller's dashboard: every listing, live over the
// shared /stream/me, with edit and cancel until the first bid.
func (p *pages) handleMyListings(c *fiber.Ctx) error {
	u, err := p.s.requireUser(c)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeUnauthorized {
			return toLogin(c, requestPath(c))
		}
		return err
	}
	list, err := p.s.deps.Reader.Auctions(c.UserContext(), domain.AuctionFilter{SellerID: u.ID, Limit: myListingsLimit, NoLots: true})
	if err != nil {
		return err
	}
	pg := p.base(c, "My listings", "listings")
	cards := make([]cardView, 0, len(list))
	for _, a := range list {
		card := newCard(a, u, pg.ServerTime)
		card.Actions = true
		card.ShowWatchers = p.s.deps.Watchlist != nil
		card.CanEdit = domain.CanSellerEdit(a)
		card.ManagePhotos = p.s.deps.Photos != nil && domain.CanAddPhoto(a, u, 0) == nil
		switch {
		case a.Status == domain.StatusClosed && card.Winner != "":
			card.Badge = &badge{"won", "Sold to " + card.Winner}
		case a.Status == domain.StatusClosed:
			card.Badge = &badge{"lost", "Not sold"}
		}
		cards = append(cards, card)
	}
	if err := p.decorateCards(c, u, list, cards, "/me/listings"); err != nil {
		return err
	}
	p.s.addWatchers(c, u, cards)
	pg.Stream = "/stream/me"
	pg.Script = "js/list.js"
	pg.Data = struct{ Cards []cardView }{cards}
	return p.r.render(c, fiber.StatusOK, "listings", pg)
}
