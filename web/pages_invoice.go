package web

import (
	"strconv"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// invoicePageNames are the templates of the invoicing pages.
var invoicePageNames = []string{"invoice", "invoices", "offers", "sellersettings", "statement"}

// routesInvoicePages registers the invoicing pages and their forms.
func (p *pages) routesInvoicePages() {
	app := p.s.app
	app.Get("/invoices/:id", p.handleInvoicePage) // and /invoices/{id}.pdf
	app.Post("/invoices/:id/checkout", p.invoiceForm(p.checkoutForm))
	app.Post("/invoices/:id/paid", p.invoiceForm(p.paidForm))
	app.Post("/invoices/:id/shipped", p.invoiceForm(p.shippedForm))
	app.Post("/invoices/:id/collected", p.invoiceForm(p.collectedForm))
	app.Post("/invoices/:id/credit-note", p.invoiceForm(p.creditForm))
	app.Get("/me/invoices", p.handleInvoicesPage)
	app.Get("/me/offers", p.handleOffersPage)
	app.Post("/offers/:id/accept", p.handleOfferForm(true))
	app.Post("/offers/:id/decline", p.handleOfferForm(false))
	app.Post("/auctions/:id/offer", p.handleMakeOfferForm)
	app.Get("/me/seller-settings", p.handleSettingsPage)
	app.Post("/me/seller-settings", p.handleSettingsForm)
	app.Post("/admin/commission", p.handleCommissionForm)
	app.Get("/me/statement", p.handleStatementPage)
	app.Get("/me/statement.csv", p.s.handlePeriodStatementCSV)
	app.Get("/sales/:id/statement", p.handleSaleStatementPage)
	app.Get("/sales/:id/statement.csv", p.s.handleSaleStatementCSV)
}

// loggedIn returns the viewer, or sends anonymous visitors to log in.
func (p *pages) loggedIn(c *fiber.Ctx) (domain.User, bool, error) {
	u, err := p.s.requireUser(c)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeUnauthorized {
			return u, false, toLogin(c, requestPath(c))
		}
		return u, false, err
	}
	return u, true, nil
}

// invoiceData is the invoice page's Data.
type invoiceData struct {
	Invoice    domain.Invoice
	HowToPay   string
	PayURL     string
	IsBuyer    bool
	CanManage  bool
	CanChoose  bool
	CanPay     bool
	CanShip    bool
	CanCollect bool
	CanCredit  bool
	Error      string
	Errors     map[string]string
}

// handleInvoicePage shows an invoice to its buyer, its seller and admins;
// /invoices/{id}.pdf is the same invoice as a PDF.
func (p *pages) handleInvoicePage(c *fiber.Ctx) error {
	u, ok, err := p.loggedIn(c)
	if !ok {
		return err
	}
	raw, pdf := strings.CutSuffix(c.Params("id"), ".pdf")
	id, valid := parseID(raw)
	if !valid {
		return errInvoiceNotFound
	}
	inv, err := p.s.deps.Invoicing.Invoice(c.UserContext(), u, id)
	if err != nil {
		return err
	}
	if pdf {
		data, err := p.s.deps.Invoicing.PDF(inv)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "application/pdf")
		c.Set(fiber.HeaderContentDisposition, `inline; filename="`+inv.Reference+`.pdf"`)
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(fiber.StatusOK).Send(data)
	}
	return p.renderInvoice(c, fiber.StatusOK, u, inv, "", nil)
}

func (p *pages) renderInvoice(c *fiber.Ctx, status int, u domain.User, inv domain.Invoice, msg string, fields map[string]string) error {
	d := invoiceData{Invoice: inv, HowToPay: p.s.deps.Invoicing.PaymentInstructions(inv), Error: msg, Errors: fields,
		IsBuyer: u.ID == inv.Buyer.ID, CanManage: !u.Suspended && (u.Admin || u.ID == inv.Seller.ID)}
	can := func(step domain.InvoiceStep) bool { return domain.CheckStep(inv, step) == nil }
	d.CanChoose = (d.IsBuyer || d.CanManage) && !u.Suspended && can(domain.StepCheckout)
	d.CanPay = d.CanManage && can(domain.StepPaid)
	d.CanShip = d.CanManage && can(domain.StepShipped)
	d.CanCollect = d.CanManage && can(domain.StepCollected)
	d.CanCredit = d.CanManage && can(domain.StepCredit)
	if d.IsBuyer && inv.Status == domain.InvoiceIssued && inv.Kind == domain.KindInvoice {
		url, err := p.s.deps.Invoicing.CheckoutURL(c.UserContext(), inv)
		if err != nil {
			return err
		}
		d.PayURL = url
	}
	title := "Invoice " + inv.Reference
	if inv.Kind == domain.KindCreditNote {
		title = "Credit note " + inv.Reference
	}
	pg := p.base(c, title, "invoices")
	pg.Script = "js/invoice.js"
	pg.Data = d
	return p.r.render(c, status, "invoice", pg)
}

// invoiceForm runs one invoice form post: fn takes the step; success
// redirects back to the invoice with a message, a refusal re-renders it.
func (p *pages) invoiceForm(fn func(c *fiber.Ctx, u domain.User, id int64) (string, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, ok := parseID(c.Params("id"))
		if !ok {
			return errInvoiceNotFound
		}
		back := "/invoices/" + strconv.FormatInt(id, 10)
		u, err := p.s.requireActor(c)
		if err != nil {
			if domain.ErrorCode(err) == domain.CodeUnauthorized {
				return toLogin(c, back)
			}
			return err
		}
		msg, err := fn(c, u, id)
		if err == nil {
			p.flash(c, sessionFlashKey, msg)
			return seeOther(c, back)
		}
		pr, ok := pageProblem(err)
		if !ok {
			return err
		}
		inv, rerr := p.s.deps.Invoicing.Invoice(c.UserContext(), u, id)
		if rerr != nil {
			return rerr
		}
		return p.renderInvoice(c, pr.status, u, inv, pr.detail, pr.fields)
	}
}

func (p *pages) checkoutForm(c *fiber.Ctx, u domain.User, id int64) (string, error) {
	opt, err := strconv.Atoi(c.FormValue("option"))
	if err != nil {
		return "", domain.Invalid("option", "Choose delivery or collection.")
	}
	inv, err := p.s.deps.Invoicing.Checkout(c.UserContext(), u, id, opt)
	if err != nil {
		return "", err
	}
	return "Thank you: " + inv.Checkout.Choice.Describe(inv.Currency) + " The total is " + domain.FormatMoney(inv.Total, inv.Currency) + ".", nil
}

func (p *pages) paidForm(c *fiber.Ctx, u domain.User, id int64) (string, error) {
	inv, err := p.s.deps.Invoicing.MarkPaid(c.UserContext(), u, id, domain.Payment{Method: c.FormValue("method"), Reference: c.FormValue("reference")})
	if err != nil {
		return "", err
	}
	return inv.Reference + " is marked paid.", nil
}

func (p *pages) shippedForm(c *fiber.Ctx, u domain.User, id int64) (string, error) {
	inv, err := p.s.deps.Invoicing.MarkShipped(c.UserContext(), u, id, c.FormValue("tracking"))
	if err != nil {
		return "", err
	}
	return inv.Reference + " is marked shipped.", nil
}

func (p *pages) collectedForm(c *fiber.Ctx, u domain.User, id int64) (string, error) {
	inv, err := p.s.deps.Invoicing.MarkCollected(c.UserContext(), u, id, c.FormValue("reference"))
	if err != nil {
		return "", err
	}
	return inv.Reference + " is marked collected.", nil
}

func (p *pages) creditForm(c *fiber.Ctx, u domain.User, id int64) (string, error) {
	cn, err := p.s.deps.Invoicing.CreditNote(c.UserContext(), u, id, c.FormValue("reason"))
	if err != nil {
		return "", err
	}
	return "The invoice was cancelled by credit note " + cn.Reference + ".", nil
}

// invoicesData is the invoice list's Data.
type invoicesData struct {
	Role     string
	SaleID   int64
	Status   string
	Invoices []domain.Invoice
}

// handleInvoicesPage lists the viewer's invoices as a buyer, or (with
// ?role=seller, optionally ?sale=) as a seller.
func (p *pages) handleInvoicesPage(c *fiber.Ctx) error {
	u, ok, err := p.loggedIn(c)
	if !ok {
		return err
	}
	f, err := invoiceFilter(c)
	if err != nil {
		return err
	}
	list, err := p.s.deps.Invoicing.Invoices(c.UserContext(), u, f)
	if err != nil {
		return err
	}
	title := "My invoices"
	if f.Role == domain.AsSeller {
		title = "Invoices I issued"
	}
	pg := p.base(c, title, "invoices")
	pg.Script = "js/invoice.js"
	pg.Data = invoicesData{Role: string(f.Role), SaleID: f.SaleID, Status: f.Status, Invoices: list}
	return p.r.render(c, fiber.StatusOK, "invoices", pg)
}

// offersData is the offers page's Data.
type offersData struct {
	Received []domain.Offer
	Made     []domain.Offer
}

func (p *pages) handleOffersPage(c *fiber.Ctx) error {
	u, ok, err := p.loggedIn(c)
	if !ok {
		return err
	}
	recv, err := p.s.deps.Invoicing.Offers(c.UserContext(), u, false, 0)
	if err != nil {
		return err
	}
	made, err := p.s.deps.Invoicing.Offers(c.UserContext(), u, true, 0)
	if err != nil {
		return err
	}
	pg := p.base(c, "Offers", "offers")
	pg.Script = "js/invoice.js"
	pg.Data = offersData{Received: recv, Made: made}
	return p.r.render(c, fiber.StatusOK, "offers", pg)
}

func (p *pages) handleOfferForm(accept bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, ok := parseID(c.Params("id"))
		if !ok {
			return domain.ErrOfferNotFound
		}
		u, err := p.s.requireActor(c)
		if err != nil {
			if domain.ErrorCode(err) == domain.CodeUnauthorized {
				return toLogin(c, "/me/offers")
			}
			return err
		}
		if accept {
			o, err := p.s.deps.Invoicing.AcceptOffer(c.UserContext(), u, id)
			if err != nil {
				return p.offerRefused(c, err)
			}
			p.flash(c, sessionFlashKey, "You accepted the offer: here is your invoice.")
			return seeOther(c, "/invoices/"+strconv.FormatInt(o.InvoiceID, 10))
		}
		if _, err := p.s.deps.Invoicing.DeclineOffer(c.UserContext(), u, id); err != nil {
			return p.offerRefused(c, err)
		}
		p.flash(c, sessionFlashKey, "You declined the offer.")
		return seeOther(c, "/me/offers")
	}
}

// offerRefused shows why an answer to an offer did not go through, on the
// offers page.
func (p *pages) offerRefused(c *fiber.Ctx, err error) error {
	pr, ok := pageProblem(err)
	if !ok {
		return err
	}
	p.flash(c, sessionFlashKey, pr.detail)
	return seeOther(c, "/me/offers")
}

// handleMakeOfferForm is the seller's "offer to the next bidder" button on
// a closed lot's page.
func (p *pages) handleMakeOfferForm(c *fiber.Ctx) error {
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	back := "/auctions/" + strconv.FormatInt(id, 10)
	u, err := p.s.requireActor(c)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeUnauthorized {
			return toLogin(c, back)
		}
		return err
	}
	hours := 0
	if v := strings.TrimSpace(c.FormValue("expires_in_hours")); v != "" {
		if hours, err = strconv.Atoi(v); err != nil {
			hours = -1
		}
	}
	o, err := p.s.deps.Invoicing.MakeOffer(c.UserContext(), u, id, hours)
	if err != nil {
		pr, ok := pageProblem(err)
		if !ok {
			return err
		}
		p.flash(c, sessionFlashKey, "No offer was made: "+pr.detail)
		return seeOther(c, back)
	}
	p.flash(c, sessionFlashKey, "Offer sent: "+domain.FormatMoney(o.Amount, o.Currency)+", open until "+o.ExpiresAt.Format("2 Jan 2006 15:04 UTC")+".")
	return seeOther(c, "/me/offers")
}

// invoiceStatusLabel names an invoice's state for people; invoice.js uses
// the same words.
func invoiceStatusLabel(inv domain.Invoice) string {
	switch {
	case inv.Kind == domain.KindCreditNote:
		return "Credit note"
	case inv.Overdue:
		return "Overdue"
	}
	switch inv.Status {
	case domain.InvoiceIssued:
		return "Awaiting payment"
	case domain.InvoicePaid:
		return "Paid"
	case domain.InvoiceShipped:
		return "Shipped"
	case domain.InvoiceCollected:
		return "Collected"
	case domain.InvoiceCancelled:
		return "Cancelled"
	}
	return string(inv.Status)
}
