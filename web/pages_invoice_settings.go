package web

import (
	"strconv"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// settingsData is the seller settings page's Data: the form's values as
// typed (or as saved), its errors, the terms as bidders will read them,
// and for admins the commission form.
type settingsData struct {
	Values     map[string]string
	Errors     map[string]string
	Error      string
	Terms      []string
	Commission string
	Default    bool
	Tiers      []int
	Deliveries []int
	Admin      bool
	Platform   string
}

// settingsValues turns saved settings into form values.
func settingsValues(set domain.SellerSettings) map[string]string {
	cur := set.Currency
	if cur == "" {
		cur = "EUR"
	}
	v := map[string]string{"currency": cur, "payment_instructions": set.PaymentInstructions, "due_days": strconv.Itoa(set.DueDays)}
	feeValues(v, set.Fees, cur)
	return v
}

// parseSettingsForm reads the form into settings, or per-field errors.
func parseSettingsForm(c *fiber.Ctx) (map[string]string, domain.SellerSettings, map[string]string) {
	v := map[string]string{}
	errs := map[string]string{}
	get := func(k string) string {
		s := strings.TrimSpace(c.FormValue(k))
		v[k] = s
		return s
	}
	set := domain.SellerSettings{Currency: strings.ToUpper(get("currency")), PaymentInstructions: get("payment_instructions")}
	if _, ok := domain.LookupCurrency(set.Currency); !ok {
		errs["currency"] = "Choose a currency by its ISO 4217 code, such as EUR."
		set.Currency = "EUR"
	}
	if d := get("due_days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil {
			errs["due_days"] = "Enter a whole number of days."
		}
		set.DueDays = n
	}
	set.Fees = parseFeeFields(get, v, set.Currency, errs)
	return v, set, errs
}

func (p *pages) handleSettingsPage(c *fiber.Ctx) error {
	u, ok, err := p.loggedIn(c)
	if !ok {
		return err
	}
	set, err := p.s.deps.Invoicing.SellerSettings(c.UserContext(), u.ID)
	if err != nil {
		return err
	}
	return p.renderSettings(c, fiber.StatusOK, u, set, settingsValues(set), nil, "")
}

func (p *pages) renderSettings(c *fiber.Ctx, status int, u domain.User, set domain.SellerSettings, values, errs map[string]string, msg string) error {
	d := settingsData{Values: values, Errors: errs, Error: msg, Tiers: rows(formTiers), Deliveries: rows(formDeliveries), Admin: u.Admin}
	cur := set.Currency
	if cur == "" {
		cur = "EUR"
	}
	d.Terms = set.Fees.Terms(cur)
	platform, err := p.s.deps.Invoicing.PlatformCommission(c.UserContext())
	if err != nil {
		return err
	}
	d.Platform = domain.FormatRate(platform)
	d.Commission, d.Default = d.Platform, set.CommissionBPS == nil
	if set.CommissionBPS != nil {
		d.Commission = domain.FormatRate(*set.CommissionBPS)
	}
	pg := p.base(c, "Seller settings", "settings")
	pg.Data = d
	return p.r.render(c, status, "sellersettings", pg)
}

func (p *pages) handleSettingsForm(c *fiber.Ctx) error {
	u, err := p.s.requireActor(c)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeUnauthorized {
			return toLogin(c, "/me/seller-settings")
		}
		return err
	}
	values, in, errs := parseSettingsForm(c)
	if len(errs) == 0 {
		if _, err = p.s.deps.Invoicing.PutSellerSettings(c.UserContext(), u, in); err == nil {
			p.flash(c, sessionFlashKey, "Your settings are saved. New listings and invoices use them.")
			return seeOther(c, "/me/seller-settings")
		}
	} else {
		err = domain.FieldErrors(errs)
	}
	pr, ok := pageProblem(err)
	if !ok {
		return err
	}
	errs = feeFieldErrors(mergeFields(errs, pr.fields))
	saved, serr := p.s.deps.Invoicing.SellerSettings(c.UserContext(), u.ID)
	if serr != nil {
		return serr
	}
	return p.renderSettings(c, pr.status, u, saved, values, errs, pr.detail)
}

// handleCommissionForm sets the platform's default commission, or one
// seller's when seller_id is given (admins only).
func (p *pages) handleCommissionForm(c *fiber.Ctx) error {
	admin, done, err := p.adminUser(c)
	if done || err != nil {
		return err
	}
	var seller int64
	if v := strings.TrimSpace(c.FormValue("seller_id")); v != "" {
		id, ok := parseID(v)
		if !ok {
			p.flash(c, sessionFlashKey, "The commission was not set: the seller must be a user id.")
			return seeOther(c, "/me/seller-settings")
		}
		seller = id
	}
	var bps *int64
	if v := strings.TrimSpace(c.FormValue("rate")); v != "" || seller == 0 {
		n, perr := domain.ParseAmount(v, "EUR")
		if perr != nil {
			p.flash(c, sessionFlashKey, "The commission was not set: enter a percentage such as 10 or 12.5.")
			return seeOther(c, "/me/seller-settings")
		}
		bps = &n
	}
	if err := p.s.deps.Invoicing.SetCommission(c.UserContext(), admin, seller, bps); err != nil {
		pr, ok := pageProblem(err)
		if !ok {
			return err
		}
		p.flash(c, sessionFlashKey, "The commission was not set: "+pr.detail)
		return seeOther(c, "/me/seller-settings")
	}
	p.flash(c, sessionFlashKey, "The commission is set.")
	return seeOther(c, "/me/seller-settings")
}

// statementData is the statement page's Data.
type statementData struct {
	Statements []domain.Statement
	From, To   string
	CSV        string
	SaleID     int64
}

func (p *pages) handleStatementPage(c *fiber.Ctx) error {
	u, ok, err := p.loggedIn(c)
	if !ok {
		return err
	}
	seller, from, to, err := p.s.period(c, u)
	if err != nil {
		return err
	}
	sts, err := p.s.deps.Invoicing.PeriodStatements(c.UserContext(), u, seller, from, to)
	if err != nil {
		return err
	}
	pg := p.base(c, "Statement", "statement")
	q := "?from=" + from.Format("2006-01-02") + "&to=" + to.Format("2006-01-02")
	pg.Data = statementData{Statements: sts, From: from.Format("2006-01-02"), To: to.Format("2006-01-02"), CSV: "/me/statement.csv" + q}
	return p.r.render(c, fiber.StatusOK, "statement", pg)
}

func (p *pages) handleSaleStatementPage(c *fiber.Ctx) error {
	if _, ok, err := p.loggedIn(c); !ok {
		return err
	}
	st, err := p.s.saleStatement(c)
	if err != nil {
		return err
	}
	pg := p.base(c, "Sale statement", "statement")
	id := strconv.FormatInt(st.SaleID, 10)
	pg.Data = statementData{Statements: []domain.Statement{st}, SaleID: st.SaleID, CSV: "/sales/" + id + "/statement.csv"}
	return p.r.render(c, fiber.StatusOK, "statement", pg)
}
