package web

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// saleForm is the sale form's Data (new and edit).
type saleForm struct {
	Heading    string
	Action     string
	Submit     string
	Values     map[string]string
	Errors     map[string]string
	Error      string
	Currencies []domain.Currency
	// OpensAtUTC and FirstCloseAtUTC carry a saved sale's times to sell.js,
	// which shows them in the viewer's zone.
	OpensAtUTC      string
	FirstCloseAtUTC string
	// The fee fields' rows ("fee-fields"), and on a new sale the terms of
	// the seller's defaults, which a sale sent without fees takes.
	Tiers        []int
	Deliveries   []int
	DefaultTerms []string
}

// saleFields label the form's inputs, for its error summary.
var saleFields = []struct{ Name, Label string }{
	{"title", "Title"}, {"description", "Description"}, {"currency", "Currency"}, {"increment", "Fixed bid increment"},
	{"opens_at", "Opens at"}, {"first_close_at", "First lot closes at"}, {"tz_offset", "Time zone offset"},
	{"gap_seconds", "Gap between lots"}, {"soft_close_seconds", "Soft close"}, {"soft_close_mode", "Soft-close mode"},
	{"terms", "Terms"}, {"lots", "Lots"},
}

// ErrorList returns the field errors in form order.
func (f saleForm) ErrorList() []fieldProblem {
	var out []fieldProblem
	for _, fld := range saleFields {
		if msg, ok := f.Errors[fld.Name]; ok {
			out = append(out, fieldProblem{ID: fld.Name, Label: fld.Label, Message: msg})
		}
	}
	return append(out, feeProblems(f.Errors)...)
}

func newSaleForm(heading, action, submit string) saleForm {
	f := saleForm{Heading: heading, Action: action, Submit: submit, Errors: map[string]string{}, Values: map[string]string{},
		Tiers: rows(formTiers), Deliveries: rows(formDeliveries)}
	for _, code := range domain.CurrencyCodes() {
		c, _ := domain.LookupCurrency(code)
		f.Currencies = append(f.Currencies, c)
	}
	return f
}

func (p *pages) renderSaleForm(c *fiber.Ctx, status int, f saleForm) error {
	pg := p.base(c, f.Heading, "sales")
	pg.Script = "js/sell.js"
	pg.Data = f
	return p.r.render(c, status, "saleform", pg)
}

// parseSaleForm reads the sale form: values as typed, the input, and the
// problems found while parsing; the domain validates the values. Empty fee
// fields are no schedule (Fees nil): the seller's defaults on a new sale.
func parseSaleForm(c *fiber.Ctx) (map[string]string, domain.SaleInput, map[string]string) {
	values, errs := map[string]string{}, map[string]string{}
	for _, f := range saleFields {
		values[f.Name] = strings.TrimSpace(c.FormValue(f.Name))
	}
	for _, name := range []string{"description", "terms"} {
		values[name] = strings.ReplaceAll(c.FormValue(name), "\r\n", "\n")
	}
	values["currency"] = strings.ToUpper(values["currency"])
	in := domain.SaleInput{Title: values["title"], Description: values["description"], Terms: values["terms"],
		Currency: values["currency"], SoftCloseMode: domain.SoftCloseMode(values["soft_close_mode"])}
	if _, ok := domain.LookupCurrency(in.Currency); !ok {
		errs["currency"] = "Choose a currency from the list."
	} else if v := values["increment"]; v != "" {
		amount, err := domain.ParseAmount(v, in.Currency)
		if err != nil {
			errs["increment"] = domain.ErrorMessage(err)
		}
		in.Increment = amount
	}
	in.Fees = parseFeeForm(c, values, in.Currency, errs)
	loc, ok := parseOffset(values["tz_offset"])
	if !ok {
		errs["tz_offset"] = "Enter an offset such as +02:00 or -05:00, or leave it empty for UTC."
	}
	opens, msg := formTime(func(k string) string { return c.FormValue(k) }, "opens_at", values["opens_at"], loc)
	if msg != "" {
		errs["opens_at"] = msg
	}
	in.OpensAt = opens
	first, msg := formTime(func(k string) string { return c.FormValue(k) }, "first_close_at", values["first_close_at"], loc)
	switch {
	case msg != "":
		errs["first_close_at"] = msg
	case first != nil:
		in.FirstCloseAt = *first
	}
	for name, dst := range map[string]**int{"gap_seconds": &in.GapSeconds, "soft_close_seconds": &in.SoftCloseSeconds} {
		if v := values[name]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs[name] = "Enter a whole number of seconds."
				continue
			}
			*dst = &n
		}
	}
	if err := domain.ValidateSaleInput(in, time.Now()); err != nil {
		var de *domain.Error
		if errors.As(err, &de) {
			errs = mergeFields(errs, de.Fields)
		}
	}
	return values, in, feeFieldErrors(errs)
}

// saleFormValues fills the edit form from a sale; times go out in UTC.
func saleFormValues(s domain.Sale) (map[string]string, string, string) {
	v := map[string]string{
		"title": s.Title, "description": s.Description, "terms": s.Terms, "currency": s.Currency,
		"first_close_at": s.FirstCloseAt.UTC().Format(localTimeLayouts[0]), "tz_offset": "+00:00",
		"gap_seconds": strconv.Itoa(s.GapSeconds), "soft_close_seconds": strconv.Itoa(s.SoftCloseSeconds),
		"soft_close_mode": string(s.SoftCloseMode),
	}
	if s.Increment > 0 {
		v["increment"] = domain.FormatAmount(s.Increment, s.Currency)
	}
	feeValues(v, s.FeeSchedule(), s.Currency)
	opensUTC := ""
	if !s.OpensAt.IsZero() {
		v["opens_at"] = s.OpensAt.UTC().Format(localTimeLayouts[0])
		opensUTC = s.OpensAt.UTC().Format(time.RFC3339)
	}
	return v, opensUTC, s.FirstCloseAt.UTC().Format(time.RFC3339)
}

// refusedSaleForm re-renders the sale form with a 4xx, or hands a server
// failure on.
func (p *pages) refusedSaleForm(c *fiber.Ctx, f saleForm, err error) error {
	pr, ok := pageProblem(err)
	if !ok {
		return err
	}
	f.Errors = feeFieldErrors(mergeFields(f.Errors, pr.fields))
	if len(pr.fields) == 0 || pr.code != domain.CodeInvalid {
		f.Error = pr.detail
	}
	return p.renderSaleForm(c, pr.status, f)
}

func (p *pages) handleSaleNewPage(c *fiber.Ctx) error {
	u, done, err := p.sellUser(c, "/sales/new")
	if done || err != nil {
		return err
	}
	f := newSaleForm("New sale", "/sales/new", "Create the sale")
	if f.DefaultTerms, err = p.defaultTerms(c, u); err != nil {
		return err
	}
	f.Values = map[string]string{"currency": defaultCurrency, "gap_seconds": strconv.Itoa(domain.DefaultGapSeconds),
		"soft_close_seconds": strconv.Itoa(domain.DefaultSoftCloseSeconds), "soft_close_mode": string(domain.SoftCloseLot)}
	return p.renderSaleForm(c, fiber.StatusOK, f)
}

func (p *pages) handleSaleNewForm(c *fiber.Ctx) error {
	u, done, err := p.sellUser(c, "/sales/new")
	if done || err != nil {
		return err
	}
	f := newSaleForm("New sale", "/sales/new", "Create the sale")
	if f.DefaultTerms, err = p.defaultTerms(c, u); err != nil {
		return err
	}
	values, in, errs := parseSaleForm(c)
	f.Values = values
	if len(errs) > 0 {
		f.Errors = errs
		return p.renderSaleForm(c, fiber.StatusUnprocessableEntity, f)
	}
	sale, err := p.s.deps.Sales.CreateSale(c.UserContext(), u, in)
	if err != nil {
		return p.refusedSaleForm(c, f, err)
	}
	p.flash(c, sessionFlashKey, "Your sale is created as a draft. Add its lots, then publish it.")
	return seeOther(c, dashboardURL(sale.ID))
}

func dashboardURL(id int64) string { return "/sales/" + strconv.FormatInt(id, 10) + "/dashboard" }

// managedSale reads a sale the logged-in user manages, or redirects an
// anonymous visitor to log in (done).
func (p *pages) managedSale(c *fiber.Ctx) (domain.User, domain.Sale, bool, error) {
	u, done, err := p.sellUser(c, requestPath(c))
	if done || err != nil {
		return u, domain.Sale{}, done, err
	}
	sale, err := p.s.visibleSale(c, u)
	if err == nil && !mayManageSale(u, sale) {
		err = domain.ErrNotSeller
	}
	return u, sale, false, err
}

func (p *pages) handleSaleEditPage(c *fiber.Ctx) error {
	_, sale, done, err := p.managedSale(c)
	if done || err != nil {
		return err
	}
	f := newSaleForm("Edit sale", "/sales/"+strconv.FormatInt(sale.ID, 10)+"/edit", "Save changes")
	f.Values, f.OpensAtUTC, f.FirstCloseAtUTC = saleFormValues(sale)
	return p.renderSaleForm(c, fiber.StatusOK, f)
}

func (p *pages) handleSaleEditForm(c *fiber.Ctx) error {
	u, sale, done, err := p.managedSale(c)
	if done || err != nil {
		return err
	}
	f := newSaleForm("Edit sale", "/sales/"+strconv.FormatInt(sale.ID, 10)+"/edit", "Save changes")
	values, in, errs := parseSaleForm(c)
	f.Values = values
	if len(errs) > 0 {
		f.Errors = errs
		return p.renderSaleForm(c, fiber.StatusUnprocessableEntity, f)
	}
	if in.Fees == nil {
		// The edit form shows the sale's fees: emptied, they are removed.
		in.Fees = &domain.Fees{}
	}
	if _, err := p.s.deps.Sales.UpdateSale(c.UserContext(), u, sale.ID, in); err != nil {
		return p.refusedSaleForm(c, f, err)
	}
	p.flash(c, sessionFlashKey, "Your changes are saved; the lots are rescheduled to match.")
	return seeOther(c, dashboardURL(sale.ID))
}

// lotForm is the one-lot form's Data (new and edit).
type lotForm struct {
	Sale    domain.SaleView
	Heading string
	Action  string
	Submit  string
	Values  map[string]string
	Errors  map[string]string
	Error   string
}

func newLotForm(sale domain.SaleView) lotForm {
	return lotForm{Sale: sale, Heading: "New lot in “" + sale.Title + "”", Submit: "Add the lot",
		Action: "/sales/" + strconv.FormatInt(sale.ID, 10) + "/lots/new", Values: map[string]string{}, Errors: map[string]string{}}
}

func editLotForm(sale domain.SaleView, lotID int64) lotForm {
	f := newLotForm(sale)
	f.Heading, f.Submit = "Edit a lot of “"+sale.Title+"”", "Save changes"
	f.Action = "/sales/" + strconv.FormatInt(sale.ID, 10) + "/lots/" + strconv.FormatInt(lotID, 10) + "/edit"
	return f
}

// lotField is one input of the lot form.
type lotField struct {
	Name, Label, Hint string
	Money, Required   bool
}

var lotFormFields = []lotField{
	{"lot_number", "Lot number", "Lots close in the order of their numbers.", false, true},
	{"title", "Title", "", false, true},
	{"start_price", "Start price", "The first bid must be at least this.", true, true},
	{"reserve", "Reserve (optional)", "A hidden minimum: below it the lot does not sell.", true, false},
	{"low_estimate", "Low estimate (optional)", "", true, false},
	{"high_estimate", "High estimate (optional)", "", true, false},
	{"buy_now", "Buy-it-now price (optional)", "Anyone may buy at this price until the first bid.", true, false},
}

// Fields returns the form's inputs, for the template.
func (lotForm) Fields() []lotField { return lotFormFields }

func (p *pages) renderLotForm(c *fiber.Ctx, status int, f lotForm) error {
	pg := p.base(c, f.Heading, "sales")
	pg.Data = f
	return p.r.render(c, status, "lotform", pg)
}

func (p *pages) handleLotNewPage(c *fiber.Ctx) error {
	_, sale, done, err := p.managedSale(c)
	if done || err != nil {
		return err
	}
	return p.renderLotForm(c, fiber.StatusOK, newLotForm(sale.View(nil, p.s.now())))
}

func (p *pages) handleLotNewForm(c *fiber.Ctx) error {
	u, sale, done, err := p.managedSale(c)
	if done || err != nil {
		return err
	}
	f := newLotForm(sale.View(nil, p.s.now()))
	in, ok := parseLotForm(c, &f, sale.Currency)
	if !ok {
		return p.renderLotForm(c, fiber.StatusUnprocessableEntity, f)
	}
	_, err = p.s.deps.Sales.AddLots(c.UserContext(), u, sale.ID, []domain.LotInput{in})
	if err == nil {
		p.flash(c, sessionFlashKey, "Lot "+strconv.Itoa(in.LotNumber)+" is added.")
		return seeOther(c, dashboardURL(sale.ID))
	}
	return p.refusedLotForm(c, f, err)
}

// lotOf reads a lot of sale the seller is editing.
func (p *pages) lotOf(c *fiber.Ctx, sale domain.Sale) (domain.Auction, error) {
	lotID, ok := parseID(c.Params("lot"))
	if !ok {
		return domain.Auction{}, domain.ErrLotNotFound
	}
	a, err := p.s.deps.Reader.Auction(c.UserContext(), lotID)
	if err != nil || a.SaleID != sale.ID {
		return a, domain.ErrLotNotFound
	}
	return a, nil
}

// handleLotEditPage shows a lot's form, filled in, until its first bid.
func (p *pages) handleLotEditPage(c *fiber.Ctx) error {
	_, sale, done, err := p.managedSale(c)
	if done || err != nil {
		return err
	}
	a, err := p.lotOf(c, sale)
	if err != nil {
		return err
	}
	f := editLotForm(sale.View(nil, p.s.now()), a.ID)
	amount := func(v int64) string {
		if v == 0 {
			return ""
		}
		return domain.FormatAmount(v, a.Currency)
	}
	f.Values = map[string]string{"lot_number": strconv.Itoa(a.LotNumber), "title": a.Title, "description": a.Description,
		"start_price": domain.FormatAmount(a.StartPrice, a.Currency), "reserve": amount(a.ReservePrice),
		"low_estimate": amount(a.LowEstimate), "high_estimate": amount(a.HighEstimate), "buy_now": amount(a.BuyNowPrice)}
	return p.renderLotForm(c, fiber.StatusOK, f)
}

func (p *pages) handleLotEditForm(c *fiber.Ctx) error {
	u, sale, done, err := p.managedSale(c)
	if done || err != nil {
		return err
	}
	a, err := p.lotOf(c, sale)
	if err != nil {
		return err
	}
	f := editLotForm(sale.View(nil, p.s.now()), a.ID)
	in, ok := parseLotForm(c, &f, sale.Currency)
	if !ok {
		return p.renderLotForm(c, fiber.StatusUnprocessableEntity, f)
	}
	in.Increment = a.Increment
	if _, err := p.s.deps.Sales.UpdateLot(c.UserContext(), u, sale.ID, a.ID, in); err != nil {
		return p.refusedLotForm(c, f, err)
	}
	p.flash(c, sessionFlashKey, "Lot "+strconv.Itoa(in.LotNumber)+" is saved.")
	return seeOther(c, dashboardURL(sale.ID))
}

// refusedLotForm re-renders the lot form with a 4xx, or hands a server
// failure on.
func (p *pages) refusedLotForm(c *fiber.Ctx, f lotForm, err error) error {
	pr, ok := pageProblem(err)
	if !ok {
		return err
	}
	f.Errors = mergeFields(f.Errors, pr.fields)
	f.Error = pr.detail
	return p.renderLotForm(c, pr.status, f)
}

// parseLotForm reads the lot form into f (values and problems) and the
// input; ok is false when it has problems.
func parseLotForm(c *fiber.Ctx, f *lotForm, currency string) (domain.LotInput, bool) {
	in := domain.LotInput{Description: strings.ReplaceAll(c.FormValue("description"), "\r\n", "\n")}
	f.Values["description"] = in.Description
	targets := map[string]*int64{"start_price": &in.StartPrice, "reserve": &in.Reserve, "low_estimate": &in.LowEstimate,
		"high_estimate": &in.HighEstimate, "buy_now": &in.BuyNow}
	for _, fld := range lotFormFields {
		v := strings.TrimSpace(c.FormValue(fld.Name))
		f.Values[fld.Name] = v
		switch {
		case fld.Name == "lot_number":
			n, err := strconv.Atoi(v)
			if err != nil {
				f.Errors["lot_number"] = "Enter the lot number as a whole number, such as 12."
			}
			in.LotNumber = n
		case fld.Name == "title":
			in.Title = v
		case fld.Money && v != "":
			amount, err := domain.ParseAmount(v, currency)
			if err != nil {
				f.Errors[fld.Name] = domain.ErrorMessage(err)
			}
			*targets[fld.Name] = amount
		}
	}
	for name, msg := range domain.ValidateLotInput(in) {
		if _, taken := f.Errors[name]; !taken {
			f.Errors[name] = msg
		}
	}
	return in, len(f.Errors) == 0
}

// handleSaleActionForm runs a dashboard button: publish, cancel, pause or
// resume. A refusal re-renders the dashboard with the reason.
func (p *pages) handleSaleActionForm(c *fiber.Ctx) error {
	u, sale, done, err := p.managedSale(c)
	if done || err != nil {
		return err
	}
	reason := strings.TrimSpace(c.FormValue("reason"))
	ctx := c.UserContext()
	var msg string
	switch c.Params("action") {
	case "publish":
		_, err = p.s.deps.Sales.PublishSale(ctx, u, sale.ID)
		msg = "Your sale is published."
	case "cancel":
		_, err = p.s.deps.Sales.CancelSale(ctx, u, sale.ID, reason)
		msg = "The sale is cancelled."
	case "pause":
		_, err = p.s.deps.Sales.PauseSale(ctx, u, sale.ID, reason)
		msg = "The sale is paused: bids are refused and no lot closes until you resume it."
	case "resume":
		_, err = p.s.deps.Sales.ResumeSale(ctx, u, sale.ID, reason)
		msg = "The sale is running again; every lot kept the time it had left."
	default:
		return fiber.ErrNotFound
	}
	return p.afterSaleAction(c, u, err, msg)
}

// afterSaleAction redirects to the dashboard with msg, or re-renders it
// with the refusal.
func (p *pages) afterSaleAction(c *fiber.Ctx, u domain.User, err error, msg string) error {
	if err == nil {
		p.flash(c, sessionFlashKey, msg)
		id, _ := saleID(c)
		return seeOther(c, dashboardURL(id))
	}
	pr, ok := pageProblem(err)
	if !ok {
		return err
	}
	d, sale, lerr := p.loadCatalogue(c, u)
	if lerr != nil {
		return lerr
	}
	d.Dashboard, d.Error, d.Self = true, pr.detail, dashboardURL(sale.ID)
	return p.renderCatalogue(c, pr.status, "saledash", "Dashboard: "+sale.Title, d)
}

// handleLotWithdrawForm withdraws one lot with a reason: an admin at any
// time, the seller before its first bid (the audit log keeps admins').
func (p *pages) handleLotWithdrawForm(c *fiber.Ctx) error {
	u, sale, done, err := p.managedSale(c)
	if done || err != nil {
		return err
	}
	lotID, ok := parseID(c.Params("lot"))
	if !ok {
		return domain.ErrLotNotFound
	}
	a, err := p.s.deps.Reader.Auction(c.UserContext(), lotID)
	if err != nil || a.SaleID != sale.ID {
		return domain.ErrLotNotFound
	}
	reason, fields := adminReason(c)
	if fields != nil {
		return p.afterSaleAction(c, u, domain.FieldErrors(fields), "")
	}
	_, err = p.s.deps.Bidder.CancelAuction(c.UserContext(), u, lotID, reason)
	return p.afterSaleAction(c, u, err, "Lot "+strconv.Itoa(a.LotNumber)+" is withdrawn.")
}
