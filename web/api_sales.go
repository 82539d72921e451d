package web

import (
	"bytes"
	"cmp"
	"context"
	"mime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/salecsv"
	"github.com/gofiber/fiber/v2"
)

// routesSalesAPI registers the sales API (docs/API.md, "Sales") when the
// node has a sale service.
func (s *Server) routesSalesAPI() {
	if s.deps.Sales == nil {
		return
	}
	api := s.app.Group("/api/v1/sales")
	api.Post("/", s.handleSaleCreate)
	api.Get("/", s.handleSaleList)
	api.Get("/:id", s.handleSaleGet)
	api.Patch("/:id", s.handleSaleUpdate)
	api.Post("/:id/publish", s.handleSalePublish)
	api.Post("/:id/cancel", s.handleSaleCancel)
	api.Post("/:id/pause", s.handleSalePause)
	api.Post("/:id/resume", s.handleSaleResume)
	// One lot as JSON or a file of lots as CSV: an upload route, so the
	// file may be up to csvBodyLimit (body.go).
	s.uploadRoute(fiber.MethodPost, "/api/v1/sales/:id/lots", csvBodyLimit, s.handleLotsCreate)
	api.Get("/:id/lots", s.handleLotList)
	api.Patch("/:id/lots/:lot", s.handleLotUpdate)
	api.Get("/:id/results.csv", s.handleSaleResults)
}

// saleBody is the JSON of a sale as a seller sends it. Times are strings
// so that a bad one is reported against its field.
type saleBody struct {
	Title            string  `json:"title"`
	Description      string  `json:"description"`
	Currency         string  `json:"currency"`
	Increment        money   `json:"increment"`
	OpensAt          *string `json:"opens_at"`
	FirstCloseAt     string  `json:"first_close_at"`
	GapSeconds       *int    `json:"gap_seconds"`
	SoftCloseSeconds *int    `json:"soft_close_seconds"`
	SoftCloseMode    string  `json:"soft_close_mode"`
	Terms            string  `json:"terms"`
	// The sale's fees (buyers_premium, tax, shipping), copied to every
	// lot: sending none takes the seller's defaults on create and keeps
	// the sale's fees on edit.
	feesBody
}

// input converts the body; the domain validates the values.
func (b saleBody) input() (domain.SaleInput, error) {
	in := domain.SaleInput{
		Title: b.Title, Description: b.Description, Terms: b.Terms,
		Currency:   strings.ToUpper(strings.TrimSpace(b.Currency)),
		Increment:  int64(b.Increment),
		GapSeconds: b.GapSeconds, SoftCloseSeconds: b.SoftCloseSeconds,
		SoftCloseMode: domain.SoftCloseMode(strings.TrimSpace(b.SoftCloseMode)),
		Fees:          b.fees(),
	}
	if b.OpensAt != nil && strings.TrimSpace(*b.OpensAt) != "" {
		t, err := parseTime("opens_at", *b.OpensAt)
		if err != nil {
			return in, err
		}
		in.OpensAt = &t
	}
	if strings.TrimSpace(b.FirstCloseAt) == "" {
		return in, domain.Invalid("first_close_at", "Enter when the first lot closes.")
	}
	t, err := parseTime("first_close_at", b.FirstCloseAt)
	if err != nil {
		return in, err
	}
	in.FirstCloseAt = t
	return in, nil
}

// lotBody is one lot as JSON; amounts are minor units, as everywhere in
// the API.
type lotBody struct {
	LotNumber    int    `json:"lot_number"`
	Title        string `json:"title"`
	Description  string `json:"description"`
	StartPrice   money  `json:"start_price"`
	Reserve      money  `json:"reserve"`
	LowEstimate  money  `json:"low_estimate"`
	HighEstimate money  `json:"high_estimate"`
	BuyNow       money  `json:"buy_now"`
	Increment    money  `json:"increment"`
}

func (b lotBody) input() domain.LotInput {
	return domain.LotInput{LotNumber: b.LotNumber, Title: b.Title, Description: b.Description, StartPrice: int64(b.StartPrice),
		Reserve: int64(b.Reserve), LowEstimate: int64(b.LowEstimate), HighEstimate: int64(b.HighEstimate),
		BuyNow: int64(b.BuyNow), Increment: int64(b.Increment)}
}

// saleID reads the :id route parameter; a malformed id names no sale.
func saleID(c *fiber.Ctx) (int64, error) {
	id, ok := parseID(c.Params("id"))
	if !ok {
		return 0, domain.ErrSaleNotFound
	}
	return id, nil
}

// visibleSale reads a sale the viewer may see: a draft only to its seller
// and admins, anything else to anyone.
func (s *Server) visibleSale(c *fiber.Ctx, viewer domain.User) (domain.Sale, error) {
	id, err := saleID(c)
	if err != nil {
		return domain.Sale{}, err
	}
	sale, err := s.deps.Sales.Sale(c.UserContext(), id)
	if err != nil {
		return sale, err
	}
	if sale.Status == domain.SaleDraft && !mayManageSale(viewer, sale) {
		return sale, domain.ErrSaleNotFound
	}
	return sale, nil
}

// mayManageSale reports whether u sees a sale's private side (drafts,
// buyers, results): its seller and admins.
func mayManageSale(u domain.User, sale domain.Sale) bool {
	return u.ID != 0 && (u.Admin || u.ID == sale.SellerID)
}

// saleWithStats is a sale's view with its lot counts.
func (s *Server) saleWithStats(c *fiber.Ctx, sale domain.Sale) (domain.SaleView, error) {
	stats, err := s.deps.Sales.SaleStats(c.UserContext(), []int64{sale.ID})
	if err != nil {
		return domain.SaleView{}, err
	}
	st := stats[sale.ID]
	return sale.View(&st, s.now()), nil
}

func (s *Server) handleSaleCreate(c *fiber.Ctx) error {
	u, err := s.requireActor(c)
	if err != nil {
		return err
	}
	var b saleBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	in, err := b.input()
	if err != nil {
		return err
	}
	sale, err := s.deps.Sales.CreateSale(c.UserContext(), u, in)
	if err != nil {
		return err
	}
	c.Location("/api/v1/sales/" + strconv.FormatInt(sale.ID, 10))
	return writeJSON(c, fiber.StatusCreated, sale.View(&domain.SaleStats{}, s.now()))
}

func (s *Server) handleSaleUpdate(c *fiber.Ctx) error {
	u, err := s.requireActor(c)
	if err != nil {
		return err
	}
	id, err := saleID(c)
	if err != nil {
		return err
	}
	var b saleBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	in, err := b.input()
	if err != nil {
		return err
	}
	sale, err := s.deps.Sales.UpdateSale(c.UserContext(), u, id, in)
	if err != nil {
		return err
	}
	v, err := s.saleWithStats(c, sale)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, v)
}

func (s *Server) handleSaleGet(c *fiber.Ctx) error {
	viewer, err := s.viewer(c)
	if err != nil {
		return err
	}
	sale, err := s.visibleSale(c, viewer)
	if err != nil {
		return err
	}
	v, err := s.saleWithStats(c, sale)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, v)
}

// saleList is the sales listing response.
type saleList struct {
	Sales      []domain.SaleView `json:"sales"`
	ServerTime time.Time         `json:"server_time"`
}

// handleSaleList lists sales: by default those upcoming, open and closing
// now; ?status= picks states, ?seller=me (or an id) one seller's, and a
// seller's own drafts only to them.
func (s *Server) handleSaleList(c *fiber.Ctx) error {
	viewer, err := s.viewer(c)
	if err != nil {
		return err
	}
	var f domain.SaleFilter
	if f.SellerID, err = userParam(c, "seller", viewer, true); err != nil {
		return err
	}
	if v := c.Query("status"); v != "" {
		for _, part := range strings.Split(v, ",") {
			st := domain.SaleStatus(strings.TrimSpace(part))
			switch st {
			case domain.SaleScheduled, domain.SaleOpen, domain.SaleClosing, domain.SaleClosed, domain.SaleCancelled:
			case domain.SaleDraft:
				if f.SellerID == 0 || (f.SellerID != viewer.ID && !viewer.Admin) {
					return domain.Invalid("status", "Drafts are listed only with seller=me.")
				}
			default:
				return domain.Invalid("status", "status must be a comma-separated list of draft, scheduled, open, closing, closed and cancelled.")
			}
			if !contains(f.Status, st) {
				f.Status = append(f.Status, st)
			}
		}
	}
	if f.Limit, err = queryLimit(c, defaultListLimit, maxListLimit); err != nil {
		return err
	}
	list, err := s.deps.Sales.Sales(c.UserContext(), f)
	if err != nil {
		return err
	}
	ids := make([]int64, len(list))
	for i, sale := range list {
		ids[i] = sale.ID
	}
	stats, err := s.deps.Sales.SaleStats(c.UserContext(), ids)
	if err != nil {
		return err
	}
	now := s.now()
	out := saleList{Sales: make([]domain.SaleView, 0, len(list)), ServerTime: now}
	for _, sale := range list {
		st := stats[sale.ID]
		out.Sales = append(out.Sales, sale.View(&st, now))
	}
	return writeJSON(c, fiber.StatusOK, out)
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// saleAction runs one of the sale's state changes for the logged-in user
// and answers with the sale.
func (s *Server) saleAction(c *fiber.Ctx, run func(u domain.User, id int64, reason string) (domain.Sale, error)) error {
	u, err := s.requireActor(c)
	if err != nil {
		return err
	}
	id, err := saleID(c)
	if err != nil {
		return err
	}
	reason, err := bodyReason(c)
	if err != nil {
		return err
	}
	sale, err := run(u, id, reason)
	if err != nil {
		return err
	}
	v, err := s.saleWithStats(c, sale)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, v)
}

func (s *Server) handleSalePublish(c *fiber.Ctx) error {
	return s.saleAction(c, func(u domain.User, id int64, _ string) (domain.Sale, error) {
		return s.deps.Sales.PublishSale(c.UserContext(), u, id)
	})
}

func (s *Server) handleSaleCancel(c *fiber.Ctx) error {
	return s.saleAction(c, func(u domain.User, id int64, reason string) (domain.Sale, error) {
		return s.deps.Sales.CancelSale(c.UserContext(), u, id, reason)
	})
}

func (s *Server) handleSalePause(c *fiber.Ctx) error {
	return s.saleAction(c, func(u domain.User, id int64, reason string) (domain.Sale, error) {
		return s.deps.Sales.PauseSale(c.UserContext(), u, id, reason)
	})
}

func (s *Server) handleSaleResume(c *fiber.Ctx) error {
	return s.saleAction(c, func(u domain.User, id int64, reason string) (domain.Sale, error) {
		return s.deps.Sales.ResumeSale(c.UserContext(), u, id, reason)
	})
}

// lotList is the lots response: each lot is the auction's view plus its
// lot number and estimates.
type lotList struct {
	Lots       []domain.AuctionView `json:"lots"`
	ServerTime time.Time            `json:"server_time"`
}

func (s *Server) lotViews(lots []domain.Auction, viewer domain.User) lotList {
	now := s.now()
	out := lotList{Lots: make([]domain.AuctionView, 0, len(lots)), ServerTime: now}
	for _, a := range lots {
		out.Lots = append(out.Lots, domain.View(a, viewer, now))
	}
	return out
}

func (s *Server) handleLotList(c *fiber.Ctx) error {
	viewer, err := s.viewer(c)
	if err != nil {
		return err
	}
	sale, err := s.visibleSale(c, viewer)
	if err != nil {
		return err
	}
	lots, err := s.deps.Sales.Lots(c.UserContext(), sale.ID)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, s.lotViews(lots, viewer))
}

// handleLotsCreate adds one lot (JSON) or a file of lots (text/csv) to a
// sale. With ?dry_run=1 it only checks: the answer lists every problem, by
// row and column, and nothing is created.
func (s *Server) handleLotsCreate(c *fiber.Ctx) error {
	u, err := s.requireActor(c)
	if err != nil {
		return err
	}
	dryRun, err := queryBool(c, "dry_run")
	if err != nil {
		return err
	}
	sale, err := s.visibleSale(c, u)
	if err != nil {
		return err
	}
	if sale.SellerID != u.ID {
		return domain.ErrNotSeller
	}
	mt, _, _ := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if mt == "text/csv" {
		body, err := readBody(c, csvBodyLimit)
		if err != nil {
			return err
		}
		return s.importLots(c, u, sale, body, dryRun)
	}
	var b lotBody
	if err := decodeJSON(c, &b); err != nil {
		if domain.ErrorCode(err) == codeUnsupported {
			return domain.Errorf(codeUnsupported, "Send one lot as JSON (Content-Type: application/json) or a file of lots as CSV (Content-Type: text/csv).")
		}
		return err
	}
	in := b.input()
	if dryRun {
		if fields := domain.ValidateLotInput(in); fields != nil {
			return domain.FieldErrors(fields)
		}
		return writeJSON(c, fiber.StatusOK, preview{Valid: true, Count: 1, Problems: []salecsv.Problem{}})
	}
	lots, err := s.deps.Sales.AddLots(c.UserContext(), u, sale.ID, []domain.LotInput{in})
	if err != nil {
		return err
	}
	c.Location("/api/v1/auctions/" + strconv.FormatInt(lots[0].ID, 10))
	return writeJSON(c, fiber.StatusCreated, domain.View(lots[0], u, s.now()))
}

// preview is the answer to a dry run.
type preview struct {
	Valid    bool              `json:"valid"`
	Count    int               `json:"count"` // lots the file would add
	Problems []salecsv.Problem `json:"problems"`
	Omitted  int               `json:"omitted,omitempty"` // problems beyond those listed
}

// importLots checks a CSV file against the sale and adds its lots, all or
// none; a dry run answers the preview instead.
func (s *Server) importLots(c *fiber.Ctx, u domain.User, sale domain.Sale, body []byte, dryRun bool) error {
	p, lots, err := s.checkLotsFile(c, sale, body)
	if err != nil {
		return err
	}
	if dryRun {
		return writeJSON(c, fiber.StatusOK, p)
	}
	if !p.Valid {
		return fileProblem(p)
	}
	ctx, cancel := s.importContext(c, len(lots))
	defer cancel()
	added, err := s.deps.Sales.AddLots(ctx, u, sale.ID, lots)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusCreated, s.lotViews(added, u))
}

// importContext bounds the transaction that adds a file's lots: the
// request's dependency bound (GAVEL_DEPENDENCY_TIMEOUT) once more for every
// 1,000 lots. Inserting a lot computes its search document (discovery's
// trigger), so a file of 5,000 lots with long descriptions takes seconds
// of legitimate work on a loaded machine. Every statement is still bounded
// by the database's statement and lock timeouts (the same bound), so a
// stalled database is noticed as soon as on any other request.
func (s *Server) importContext(c *fiber.Ctx, lots int) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(c.UserContext()), s.cfg.DependencyTimeout*time.Duration(1+lots/1000))
}

// checkLotsFile parses a lots file for sale and checks it against the
// lots the sale has: the preview, and the lots when it is valid.
func (s *Server) checkLotsFile(c *fiber.Ctx, sale domain.Sale, body []byte) (preview, []domain.LotInput, error) {
	r := salecsv.Parse(body, sale.Currency)
	p := preview{Problems: r.Problems, Omitted: r.Omitted}
	if p.Problems == nil {
		p.Problems = []salecsv.Problem{}
	}
	if len(r.Valid) > 0 {
		existing, err := s.deps.Sales.Lots(c.UserContext(), sale.ID)
		if err != nil {
			return p, nil, err
		}
		taken := make(map[int]bool, len(existing))
		for _, a := range existing {
			taken[a.LotNumber] = true
		}
		for _, l := range r.Valid {
			if taken[l.LotNumber] {
				p.Problems = append(p.Problems, salecsv.Problem{Row: l.Row, Column: "lot_number",
					Message: "Lot " + strconv.Itoa(l.LotNumber) + " already exists in this sale. Choose another number, or edit that lot instead."})
			}
		}
		slices.SortStableFunc(p.Problems, func(a, b salecsv.Problem) int { return cmp.Compare(a.Row, b.Row) })
		if n := len(existing) + len(r.Valid); n > domain.MaxLotsPerSale {
			p.Problems = append(p.Problems, salecsv.Problem{Message: "With this file the sale would have " + strconv.Itoa(n) +
				" lots; a sale may have at most 5,000."})
		}
		if !domain.CanEditSale(sale, s.now()) {
			p.Problems = append(p.Problems, salecsv.Problem{Message: "Bidding on this sale has started, so lots can no longer be added."})
		}
	}
	p.Valid = len(p.Problems) == 0 && p.Omitted == 0
	if !p.Valid {
		return p, nil, nil
	}
	p.Count = len(r.Lots)
	lots := make([]domain.LotInput, len(r.Lots))
	for i, l := range r.Lots {
		lots[i] = l.LotInput
	}
	return p, lots, nil
}

// fileProblem refuses a lots file: 422 with every problem, as the preview
// lists them.
func fileProblem(p preview) error {
	msg := "The file has " + strconv.Itoa(len(p.Problems)+p.Omitted) + " problems; nothing was imported."
	if len(p.Problems)+p.Omitted == 1 {
		msg = p.Problems[0].Message + " Nothing was imported."
	}
	return &domain.Error{Code: domain.CodeInvalid, Message: msg, Extra: map[string]any{"problems": p.Problems, "omitted": p.Omitted}}
}

func (s *Server) handleLotUpdate(c *fiber.Ctx) error {
	u, err := s.requireActor(c)
	if err != nil {
		return err
	}
	id, err := saleID(c)
	if err != nil {
		return err
	}
	lotID, ok := parseID(c.Params("lot"))
	if !ok {
		return domain.ErrLotNotFound
	}
	var b lotBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	a, err := s.deps.Sales.UpdateLot(c.UserContext(), u, id, lotID, b.input())
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, domain.View(a, u, s.now()))
}

// handleSaleResults exports a sale's results as CSV for its seller and
// admins, once its lots have started to close.
func (s *Server) handleSaleResults(c *fiber.Ctx) error {
	u, err := s.requireUser(c)
	if err != nil {
		return err
	}
	sale, err := s.visibleSale(c, u)
	if err != nil {
		return err
	}
	if !mayManageSale(u, sale) {
		return domain.ErrNotSeller
	}
	switch sale.Status {
	case domain.SaleClosing, domain.SaleClosed, domain.SaleCancelled:
	default:
		return &domain.Error{Code: domain.CodeConflict, Message: "Results are available once the sale's first lot has closed."}
	}
	results, err := s.deps.Sales.SaleResults(c.UserContext(), sale.ID)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := salecsv.WriteResults(&buf, results); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="sale-`+strconv.FormatInt(sale.ID, 10)+`-results.csv"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusOK).Send(buf.Bytes())
}

// queryBool reads a flag such as ?dry_run=1: 1/true/yes or 0/false/no.
func queryBool(c *fiber.Ctx, name string) (bool, error) {
	switch strings.ToLower(c.Query(name)) {
	case "":
		return false, nil
	case "1", "true", "yes":
		return true, nil
	case "0", "false", "no":
		return false, nil
	}
	return false, domain.Invalid(name, name+" must be 1 or 0.")
}
