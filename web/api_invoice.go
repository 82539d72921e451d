package web

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// routesInvoicing registers the API and pages of what happens after the
// hammer (docs/INVOICING.md), when invoicing is wired.
func (s *Server) routesInvoicing() {
	if s.deps.Invoicing == nil {
		return
	}
	api := s.app.Group("/api/v1")
	api.Get("/me/seller-settings", s.handleSellerSettingsGet)
	api.Put("/me/seller-settings", s.handleSellerSettingsPut)
	api.Get("/me/invoices", s.handleInvoiceList)
	api.Get("/invoices/:id", s.handleInvoiceGet)
	api.Post("/invoices/:id/checkout", s.handleInvoiceCheckout)
	api.Post("/invoices/:id/paid", s.handleInvoicePaid)
	api.Post("/invoices/:id/shipped", s.handleInvoiceShipped)
	api.Post("/invoices/:id/collected", s.handleInvoiceCollected)
	api.Post("/invoices/:id/credit-note", s.handleInvoiceCredit)
	api.Get("/sales/:id/statement.csv", s.handleSaleStatementCSV)
	api.Get("/sales/:id/statement", s.handleSaleStatement)
	api.Get("/me/statement.csv", s.handlePeriodStatementCSV)
	api.Get("/me/statement", s.handlePeriodStatement)
	api.Post("/auctions/:id/offers", s.handleOfferCreate)
	api.Get("/me/offers", s.handleOfferList)
	api.Post("/offers/:id/accept", s.handleOfferAccept)
	api.Post("/offers/:id/decline", s.handleOfferDecline)
	api.Get("/admin/commission", s.handleCommissionGet)
	api.Put("/admin/commission", s.handleCommissionPut)
	api.Put("/admin/users/:id/commission", s.handleSellerCommissionPut)
	s.pages.routesInvoicePages()
}

// idParam reads the :id route parameter; a malformed id names nothing, so
// it is notFound.
func idParam(c *fiber.Ctx, notFound error) (int64, error) {
	id, ok := parseID(c.Params("id"))
	if !ok {
		return 0, notFound
	}
	return id, nil
}

var (
	errInvoiceNotFound = &domain.Error{Code: domain.CodeNotFound, Message: "No such invoice."}
	errSaleNotFound    = &domain.Error{Code: domain.CodeNotFound, Message: "No such sale."}
)

// invoiceView is an invoice as the API returns it: the invoice, how to pay
// it and, for an online provider, where.
type invoiceView struct {
	domain.Invoice
	HowToPay    string `json:"how_to_pay"`
	CheckoutURL string `json:"checkout_url,omitempty"`
}

func (s *Server) invoiceView(c *fiber.Ctx, inv domain.Invoice) (invoiceView, error) {
	v := invoiceView{Invoice: inv, HowToPay: s.deps.Invoicing.PaymentInstructions(inv)}
	if inv.Kind == domain.KindInvoice && inv.Status == domain.InvoiceIssued {
		url, err := s.deps.Invoicing.CheckoutURL(c.UserContext(), inv)
		if err != nil {
			return v, err
		}
		v.CheckoutURL = url
	}
	return v, nil
}

func (s *Server) writeInvoice(c *fiber.Ctx, status int, inv domain.Invoice) error {
	v, err := s.invoiceView(c, inv)
	if err != nil {
		return err
	}
	return writeJSON(c, status, v)
}

// feesBody is a fee schedule as the API takes it, embedded in the bodies
// that carry one (auctions, sales, sellers' defaults). Sending any of its
// fields sets the whole schedule, the parts not sent being none.
type feesBody struct {
	BuyersPremium *[]domain.PremiumTier    `json:"buyers_premium"`
	Tax           *domain.Tax              `json:"tax"`
	Shipping      *[]domain.ShippingOption `json:"shipping"`
}

// fees is the schedule sent, nil when none of its fields was.
func (b feesBody) fees() *domain.Fees {
	if b.BuyersPremium == nil && b.Tax == nil && b.Shipping == nil {
		return nil
	}
	f := domain.Fees{Tax: b.Tax}
	if b.BuyersPremium != nil {
		f.BuyersPremium = *b.BuyersPremium
	}
	if b.Shipping != nil {
		f.Shipping = *b.Shipping
	}
	return &f
}

// sellerSettingsBody is the JSON of PUT /api/v1/me/seller-settings. The
// commission is admins' and is not accepted here.
type sellerSettingsBody struct {
	feesBody
	Currency            string `json:"currency"`
	PaymentInstructions string `json:"payment_instructions"`
	DueDays             int    `json:"due_days"`
}

// sellerSettingsView is the JSON of the seller's settings.
type sellerSettingsView struct {
	BuyersPremium       []domain.PremiumTier    `json:"buyers_premium"`
	Tax                 *domain.Tax             `json:"tax"`
	Shipping            []domain.ShippingOption `json:"shipping"`
	Currency            string                  `json:"currency"`
	PaymentInstructions string                  `json:"payment_instructions"`
	DueDays             int                     `json:"due_days"`
	CommissionBPS       int64                   `json:"commission_bps"`
	CommissionDefault   bool                    `json:"commission_is_default"`
	Terms               []string                `json:"terms"`
}

func (s *Server) settingsView(c *fiber.Ctx, set domain.SellerSettings) (sellerSettingsView, error) {
	v := sellerSettingsView{BuyersPremium: set.Fees.BuyersPremium, Tax: set.Fees.Tax, Shipping: set.Fees.Shipping,
		Currency: set.Currency, PaymentInstructions: set.PaymentInstructions, DueDays: set.DueDays}
	if v.BuyersPremium == nil {
		v.BuyersPremium = []domain.PremiumTier{}
	}
	if v.Shipping == nil {
		v.Shipping = []domain.ShippingOption{}
	}
	cur := set.Currency
	if cur == "" {
		cur = "EUR"
	}
	v.Terms = set.Fees.Terms(cur)
	if set.CommissionBPS != nil {
		v.CommissionBPS = *set.CommissionBPS
	} else {
		rate, err := s.deps.Invoicing.PlatformCommission(c.UserContext())
		if err != nil {
			return v, err
		}
		v.CommissionBPS, v.CommissionDefault = rate, true
	}
	return v, nil
}

func (s *Server) handleSellerSettingsGet(c *fiber.Ctx) error {
	u, err := s.requireUser(c)
	if err != nil {
		return err
	}
	set, err := s.deps.Invoicing.SellerSettings(c.UserContext(), u.ID)
	if err != nil {
		return err
	}
	v, err := s.settingsView(c, set)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, v)
}

func (s *Server) handleSellerSettingsPut(c *fiber.Ctx) error {
	u, err := s.requireActor(c)
	if err != nil {
		return err
	}
	var b sellerSettingsBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	in := domain.SellerSettings{Currency: b.Currency, PaymentInstructions: b.PaymentInstructions, DueDays: b.DueDays}
	if f := b.fees(); f != nil {
		in.Fees = *f
	}
	set, err := s.deps.Invoicing.PutSellerSettings(c.UserContext(), u, in)
	if err != nil {
		return err
	}
	v, err := s.settingsView(c, set)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, v)
}

// invoiceFilter reads ?role=buyer|seller|all, ?sale= and ?status=.
func invoiceFilter(c *fiber.Ctx) (domain.InvoiceFilter, error) {
	f := domain.InvoiceFilter{Role: domain.AsBuyer, Limit: 100}
	switch r := c.Query("role"); r {
	case "", "buyer":
	case "seller":
		f.Role = domain.AsSeller
	case "all":
		f.Role = domain.AsAdmin
	default:
		return f, domain.Invalid("role", `role must be "buyer", "seller" or "all" (admins).`)
	}
	if v := c.Query("sale"); v != "" {
		id, ok := parseID(v)
		if !ok {
			return f, domain.Invalid("sale", "sale must be a sale id.")
		}
		f.SaleID = id
	}
	switch st := c.Query("status"); st {
	case "", "issued", "paid", "shipped", "collected", "cancelled", "overdue":
		f.Status = st
	default:
		return f, domain.Invalid("status", "status must be issued, paid, shipped, collected, cancelled or overdue.")
	}
	var err error
	f.Limit, err = queryLimit(c, 100, 500)
	return f, err
}

type invoiceList struct {
	Invoices []domain.Invoice `json:"invoices"`
}

func (s *Server) handleInvoiceList(c *fiber.Ctx) error {
	u, err := s.requireUser(c)
	if err != nil {
		return err
	}
	f, err := invoiceFilter(c)
	if err != nil {
		return err
	}
	list, err := s.deps.Invoicing.Invoices(c.UserContext(), u, f)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, invoiceList{Invoices: list})
}

func (s *Server) handleInvoiceGet(c *fiber.Ctx) error {
	u, err := s.requireUser(c)
	if err != nil {
		return err
	}
	id, err := idParam(c, errInvoiceNotFound)
	if err != nil {
		return err
	}
	inv, err := s.deps.Invoicing.Invoice(c.UserContext(), u, id)
	if err != nil {
		return err
	}
	return s.writeInvoice(c, fiber.StatusOK, inv)
}

type checkoutBody struct {
	Option *int `json:"option"`
}

func (s *Server) handleInvoiceCheckout(c *fiber.Ctx) error {
	return s.invoiceStep(c, func(u domain.User, id int64) (domain.Invoice, error) {
		var b checkoutBody
		if err := decodeJSON(c, &b); err != nil {
			return domain.Invoice{}, err
		}
		if b.Option == nil {
			return domain.Invoice{}, domain.Invalid("option", `"option" is required: the index of one of the invoice's shipping_options, from 0.`)
		}
		return s.deps.Invoicing.Checkout(c.UserContext(), u, id, *b.Option)
	})
}

type paidBody struct {
	Method    string `json:"method"`
	Reference string `json:"reference"`
}

func (s *Server) handleInvoicePaid(c *fiber.Ctx) error {
	return s.invoiceStep(c, func(u domain.User, id int64) (domain.Invoice, error) {
		var b paidBody
		if err := decodeOptionalJSON(c, &b); err != nil {
			return domain.Invoice{}, err
		}
		return s.deps.Invoicing.MarkPaid(c.UserContext(), u, id, domain.Payment{Method: b.Method, Reference: b.Reference})
	})
}

type trackingBody struct {
	Tracking  string `json:"tracking"`
	Reference string `json:"reference"`
}

func (b trackingBody) ref() string {
	if b.Tracking != "" {
		return b.Tracking
	}
	return b.Reference
}

func (s *Server) handleInvoiceShipped(c *fiber.Ctx) error {
	return s.invoiceFulfil(c, s.deps.Invoicing.MarkShipped)
}

func (s *Server) handleInvoiceCollected(c *fiber.Ctx) error {
	return s.invoiceFulfil(c, s.deps.Invoicing.MarkCollected)
}

// invoiceFulfil records a shipment or a collection, with its optional
// reference.
func (s *Server) invoiceFulfil(c *fiber.Ctx, mark func(ctx context.Context, u domain.User, id int64, ref string) (domain.Invoice, error)) error {
	return s.invoiceStep(c, func(u domain.User, id int64) (domain.Invoice, error) {
		var b trackingBody
		if err := decodeOptionalJSON(c, &b); err != nil {
			return domain.Invoice{}, err
		}
		return mark(c.UserContext(), u, id, b.ref())
	})
}

// handleInvoiceCredit cancels an invoice with a credit note and answers
// 201 with the credit note.
func (s *Server) handleInvoiceCredit(c *fiber.Ctx) error {
	return s.invoiceStepStatus(c, fiber.StatusCreated, func(u domain.User, id int64) (domain.Invoice, error) {
		var b reasonBody
		if err := decodeJSON(c, &b); err != nil {
			return domain.Invoice{}, err
		}
		cn, err := s.deps.Invoicing.CreditNote(c.UserContext(), u, id, b.Reason)
		if err == nil {
			c.Location("/api/v1/invoices/" + strconv.FormatInt(cn.ID, 10))
		}
		return cn, err
	})
}

// invoiceStep runs one change of invoice :id for the logged-in actor and
// answers with the invoice fn returns.
func (s *Server) invoiceStep(c *fiber.Ctx, fn func(u domain.User, id int64) (domain.Invoice, error)) error {
	return s.invoiceStepStatus(c, fiber.StatusOK, fn)
}

func (s *Server) invoiceStepStatus(c *fiber.Ctx, status int, fn func(u domain.User, id int64) (domain.Invoice, error)) error {
	u, err := s.requireActor(c)
	if err != nil {
		return err
	}
	id, err := idParam(c, errInvoiceNotFound)
	if err != nil {
		return err
	}
	inv, err := fn(u, id)
	if err != nil {
		return err
	}
	return s.writeInvoice(c, status, inv)
}

func (s *Server) saleStatement(c *fiber.Ctx) (domain.Statement, error) {
	u, err := s.requireUser(c)
	if err != nil {
		return domain.Statement{}, err
	}
	id, err := idParam(c, errSaleNotFound)
	if err != nil {
		return domain.Statement{}, err
	}
	return s.deps.Invoicing.SaleStatement(c.UserContext(), u, id)
}

func (s *Server) handleSaleStatement(c *fiber.Ctx) error {
	st, err := s.saleStatement(c)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, st)
}

func (s *Server) handleSaleStatementCSV(c *fiber.Ctx) error {
	st, err := s.saleStatement(c)
	if err != nil {
		return err
	}
	return sendCSV(c, "sale-"+strconv.FormatInt(st.SaleID, 10)+"-statement.csv", s.deps.Invoicing.StatementCSV([]domain.Statement{st}))
}

// period reads ?from= and ?to= (dates or RFC 3339 times; default: the
// last 30 days to now) and ?seller= (admins).
func (s *Server) period(c *fiber.Ctx, u domain.User) (seller int64, from, to time.Time, err error) {
	to = s.now()
	from = to.AddDate(0, 0, -30)
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		v := strings.TrimSpace(c.Query(p.name))
		if v == "" {
			continue
		}
		if t, perr := time.Parse("2006-01-02", v); perr == nil {
			*p.dst = t
			continue
		}
		t, perr := parseTime(p.name, v)
		if perr != nil {
			return 0, from, to, domain.Invalid(p.name, p.name+" must be a date (2026-01-31) or an RFC 3339 time.")
		}
		*p.dst = t
	}
	seller = u.ID
	if v := c.Query("seller"); v != "" {
		id, ok := parseID(v)
		if !ok {
			return 0, from, to, domain.Invalid("seller", "seller must be a user id.")
		}
		seller = id
	}
	return seller, from, to, nil
}

func (s *Server) periodStatements(c *fiber.Ctx) ([]domain.Statement, error) {
	u, err := s.requireUser(c)
	if err != nil {
		return nil, err
	}
	seller, from, to, err := s.period(c, u)
	if err != nil {
		return nil, err
	}
	return s.deps.Invoicing.PeriodStatements(c.UserContext(), u, seller, from, to)
}

type statementList struct {
	Statements []domain.Statement `json:"statements"`
}

func (s *Server) handlePeriodStatement(c *fiber.Ctx) error {
	sts, err := s.periodStatements(c)
	if err != nil {
		return err
	}
	if sts == nil {
		sts = []domain.Statement{}
	}
	return writeJSON(c, fiber.StatusOK, statementList{Statements: sts})
}

func (s *Server) handlePeriodStatementCSV(c *fiber.Ctx) error {
	sts, err := s.periodStatements(c)
	if err != nil {
		return err
	}
	return sendCSV(c, "statement.csv", s.deps.Invoicing.StatementCSV(sts))
}

func sendCSV(c *fiber.Ctx, name string, data []byte) error {
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusOK).Send(data)
}
