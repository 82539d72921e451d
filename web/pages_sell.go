package web

import (
	"sort"
	"strconv"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// defaultCurrency preselects the listing form's currency.
const defaultCurrency = "EUR"

// sellForm is the listing form's Data (new and edit).
type sellForm struct {
	Heading     string
	Action      string
	Submit      string
	Values      map[string]string
	Errors      map[string]string
	Error       string // a message about the whole form
	Currencies  []domain.Currency
	MoneyFields []auctionField
	// StartsAtUTC and EndsAtUTC carry a saved listing's times to sell.js,
	// which shows them in the viewer's zone; empty after a failed submit,
	// so the viewer's own input is kept.
	StartsAtUTC string
	EndsAtUTC   string
	StartsHint  string
	// Photos: the form takes photos (the server has Photos). PhotosSent
	// counts those a refused submit carried, which a browser cannot put
	// back in the file input.
	Photos     bool
	PhotosSent int
	PhotosURL  string // the listing's photo page, when editing
	// Categories are the category select's options (ids as values); none
	// when the server has no categories.
	Categories []choice
}

// fieldProblem is one line of the error summary, linking to its field.
type fieldProblem struct {
	ID      string
	Label   string
	Message string
}

// ErrorList returns the field errors in form order; errors on names the
// form does not have come last, so none is ever hidden.
func (f sellForm) ErrorList() []fieldProblem {
	var out []fieldProblem
	known := map[string]bool{}
	for _, fld := range auctionFields {
		known[fld.Name] = true
		if msg, ok := f.Errors[fld.Name]; ok {
			out = append(out, fieldProblem{ID: fld.Name, Label: fld.Label, Message: msg})
		}
	}
	var rest []string
	for name := range f.Errors {
		if !known[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		fp := fieldProblem{ID: "sell-form", Label: name, Message: f.Errors[name]}
		if name == "photo" && f.Photos {
			fp.ID, fp.Label = "photo", "Photos"
		}
		out = append(out, fp)
	}
	return out
}

func newSellForm(heading, action, submit string) sellForm {
	f := sellForm{Heading: heading, Action: action, Submit: submit, Errors: map[string]string{},
		StartsHint: "Leave empty to start now."}
	for _, code := range domain.CurrencyCodes() {
		c, _ := domain.LookupCurrency(code)
		f.Currencies = append(f.Currencies, c)
	}
	for _, fld := range auctionFields {
		if fld.Money {
			f.MoneyFields = append(f.MoneyFields, fld)
		}
	}
	return f
}

// sellUser returns the logged-in seller, or redirects an anonymous visitor
// to log in (done is true then).
func (p *pages) sellUser(c *fiber.Ctx, next string) (u domain.User, done bool, err error) {
	u, err = p.s.requireActor(c)
	if err != nil && domain.ErrorCode(err) == domain.CodeUnauthorized {
		return u, true, toLogin(c, next)
	}
	return u, false, err
}

func (p *pages) renderSell(c *fiber.Ctx, status int, f sellForm, nav string) error {
	f.Photos = p.s.deps.Photos != nil
	if f.Photos && f.PhotosSent > 0 && status >= 400 {
		f.Errors = mergeFields(f.Errors, map[string]string{"photo": "Choose the photos again: a browser cannot keep them after an error."})
	}
	if p.s.deps.Categories != nil {
		all, err := p.s.deps.Categories.All(c.UserContext())
		if err != nil {
			return err
		}
		f.Categories = categoryChoices(all, true)
	}
	pg := p.base(c, f.Heading, nav)
	pg.Script = "js/sell.js"
	pg.Data = f
	return p.r.render(c, status, "sell", pg)
}

// handleSellPage shows the empty listing form.
func (p *pages) handleSellPage(c *fiber.Ctx) error {
	if _, done, err := p.sellUser(c, "/sell"); done || err != nil {
		return err
	}
	f := newSellForm("New listing", "/sell", "List the item")
	f.Values = map[string]string{"currency": defaultCurrency, "soft_close_seconds": strconv.Itoa(domain.DefaultSoftCloseSeconds)}
	return p.renderSell(c, fiber.StatusOK, f, "sell")
}

// handleSellForm creates a listing: 303 to its page, or the form again
// with every problem beside its field.
func (p *pages) handleSellForm(c *fiber.Ctx) error {
	u, done, err := p.sellUser(c, "/sell")
	if done || err != nil {
		return err
	}
	f := newSellForm("New listing", "/sell", "List the item")
	get, photos, err := p.listingForm(c)
	if err != nil {
		return p.refusedListing(c, f, "sell", err)
	}
	values, in, errs := parseAuctionForm(get)
	f.Values = values
	f.PhotosSent = len(photos)
	if err := p.formCategory(c, values, &in, errs); err != nil {
		return err
	}
	if len(errs) > 0 {
		f.Errors = checkAuctionForm(in, errs, p.s.now())
		return p.renderSell(c, fiber.StatusUnprocessableEntity, f, "sell")
	}
	a, err := p.s.deps.Bidder.CreateAuction(c.UserContext(), u, in)
	if err != nil {
		return p.refusedListing(c, f, "sell", err)
	}
	if done, err := p.listingPhotos(c, u, a.ID, photos, "Your listing is up"); done {
		return err
	}
	p.flash(c, sessionFlashKey, "Your listing is up.")
	return seeOther(c, "/auctions/"+strconv.FormatInt(a.ID, 10))
}

// refusedListing re-renders the listing form with a 4xx problem, or hands
// a server failure to the error adapter.
func (p *pages) refusedListing(c *fiber.Ctx, f sellForm, nav string, err error) error {
	pr, ok := pageProblem(err)
	if !ok {
		return err
	}
	f.Errors = mergeFields(f.Errors, pr.fields)
	if len(pr.fields) == 0 || pr.code != domain.CodeInvalid {
		f.Error = pr.detail
	}
	return p.renderSell(c, pr.status, f, nav)
}

// editable loads a listing the viewer may edit: theirs, with no bids yet.
func (p *pages) editable(c *fiber.Ctx, u domain.User, id int64) (domain.Auction, error) {
	a, err := p.s.deps.Reader.Auction(c.UserContext(), id)
	if err != nil {
		return a, err
	}
	if a.SellerID != u.ID {
		return a, domain.ErrNotSeller
	}
	if !domain.CanSellerEdit(a) {
		if a.Status == domain.StatusClosed || a.Status == domain.StatusCancelled {
			return a, domain.ErrAuctionClosed
		}
		return a, domain.ErrHasBids
	}
	return a, nil
}

func editForm(id int64) sellForm {
	base := "/auctions/" + strconv.FormatInt(id, 10)
	f := newSellForm("Edit listing", base+"/edit", "Save changes")
	f.PhotosURL = base + "/photos"
	return f
}

// handleEditPage shows a listing's form, filled in, until its first bid.
func (p *pages) handleEditPage(c *fiber.Ctx) error {
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	u, done, err := p.sellUser(c, requestPath(c))
	if done || err != nil {
		return err
	}
	a, err := p.editable(c, u, id)
	if err != nil {
		return err
	}
	if a.SaleID != 0 {
		// A lot's sale sets its times: it has a form of its own.
		return c.Redirect("/sales/"+strconv.FormatInt(a.SaleID, 10)+"/lots/"+strconv.FormatInt(a.ID, 10)+"/edit", fiber.StatusFound)
	}
	f := editForm(id)
	f.Values, f.StartsAtUTC, f.EndsAtUTC = auctionFormValues(a)
	if a.Status == domain.StatusOpen {
		f.StartsHint = "The auction has started; leave this empty to keep its start."
	}
	return p.renderSell(c, fiber.StatusOK, f, "listings")
}

// handleEditForm saves a listing's changes: 303 to its page, or the form
// again with the problems.
func (p *pages) handleEditForm(c *fiber.Ctx) error {
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	back := "/auctions/" + strconv.FormatInt(id, 10)
	u, done, err := p.sellUser(c, back+"/edit")
	if done || err != nil {
		return err
	}
	f := editForm(id)
	get, photos, err := p.listingForm(c)
	if err != nil {
		return p.refusedListing(c, f, "listings", err)
	}
	values, in, errs := parseAuctionForm(get)
	f.Values = values
	f.PhotosSent = len(photos)
	if err := p.formCategory(c, values, &in, errs); err != nil {
		return err
	}
	if len(errs) > 0 {
		f.Errors = checkAuctionForm(in, errs, p.s.now())
		return p.renderSell(c, fiber.StatusUnprocessableEntity, f, "listings")
	}
	if _, err := p.s.deps.Bidder.UpdateAuction(c.UserContext(), u, id, in); err != nil {
		return p.refusedListing(c, f, "listings", err)
	}
	if done, err := p.listingPhotos(c, u, id, photos, "Your changes are saved"); done {
		return err
	}
	p.flash(c, sessionFlashKey, "Your changes are saved.")
	return seeOther(c, back)
}

// formCategory reads the listing form's category (an id, or "" for none)
// into in; an unknown one is a field error in errs. Without categories on
// this server the form has no such field and in keeps nil.
func (p *pages) formCategory(c *fiber.Ctx, values map[string]string, in *domain.AuctionInput, errs map[string]string) error {
	if p.s.deps.Categories == nil {
		return nil
	}
	id, err := p.s.resolveCategory(c, values["category"])
	if err != nil {
		pr, ok := pageProblem(err)
		if !ok {
			return err
		}
		errs["category"] = pr.detail
		return nil
	}
	in.CategoryID = id
	return nil
}
