package web

import (
	"strconv"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// adminData is the admin monitor's Data.
type adminData struct {
	Auctions      []domain.AuctionView
	Users         []domain.User
	Audit         []domain.AuditEntry
	Blank         domain.AuctionView // for the row template admin.js clones
	Error         string
	Errors        map[string]string
	SuspendUserID int64
	SuspendReason string
	HasCategories bool // the category editor exists
	CanReinstate  bool // the reinstatement form is wired (Deps.Reinstater)
}

// adminUser returns the administrator, or redirects an anonymous visitor to
// log in (done is true then). Other users get the table's 403.
func (p *pages) adminUser(c *fiber.Ctx) (u domain.User, done bool, err error) {
	u, err = p.s.requireAdmin(c)
	if err != nil && domain.ErrorCode(err) == domain.CodeUnauthorized {
		return u, true, toLogin(c, "/admin")
	}
	return u, false, err
}

// handleAdminPage is the live monitor of running auctions and nodes, with
// the user list and audit log.
func (p *pages) handleAdminPage(c *fiber.Ctx) error {
	if _, done, err := p.adminUser(c); done || err != nil {
		return err
	}
	return p.renderAdmin(c, fiber.StatusOK, adminData{})
}

func (p *pages) renderAdmin(c *fiber.Ctx, status int, d adminData) error {
	ctx := c.UserContext()
	running, err := p.s.deps.Reader.Auctions(ctx, domain.AuctionFilter{
		Status: []domain.Status{domain.StatusOpen, domain.StatusScheduled}, Limit: adminListLimit})
	if err != nil {
		return err
	}
	if d.Users, err = p.s.deps.Reader.Users(ctx, adminUsersLimit); err != nil {
		return err
	}
	if d.Audit, err = p.s.deps.Reader.Audit(ctx, adminAuditLimit); err != nil {
		return err
	}
	d.CanReinstate = p.s.deps.Reinstater != nil
	pg := p.base(c, "Admin monitor", "admin")
	admin := domain.User{}
	if pg.User != nil {
		admin = *pg.User
	}
	for _, a := range running {
		d.Auctions = append(d.Auctions, domain.View(a, admin, pg.ServerTime))
	}
	d.Blank = domain.AuctionView{Status: domain.StatusOpen, EndsAt: pg.ServerTime}
	d.HasCategories = p.s.deps.Categories != nil
	pg.Stream = "/stream/admin"
	// admin.html loads its scripts itself, in order: uPlot, the charts,
	// then admin.js, which feeds them.
	pg.Data = d
	return p.r.render(c, status, "admin", pg)
}

// adminReason reads the required reason of an admin action; it goes to
// the audit log.
func adminReason(c *fiber.Ctx) (string, map[string]string) {
	reason, err := reasonBody{Reason: c.FormValue("reason")}.reason()
	if err != nil {
		return "", map[string]string{"reason": domain.ErrorMessage(err)}
	}
	if reason == "" {
		return "", map[string]string{"reason": "Enter a reason; it goes to the audit log."}
	}
	return reason, nil
}

// refusedAdmin re-renders the monitor with a 4xx problem, or hands a
// server failure to the error adapter.
func (p *pages) refusedAdmin(c *fiber.Ctx, d adminData, err error) error {
	pr, ok := pageProblem(err)
	if !ok {
		return err
	}
	d.Error, d.Errors = pr.detail, pr.fields
	return p.renderAdmin(c, pr.status, d)
}

// handleAdminCancelForm cancels an auction with a reason.
func (p *pages) handleAdminCancelForm(c *fiber.Ctx) error {
	admin, done, err := p.adminUser(c)
	if done || err != nil {
		return err
	}
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	reason, fields := adminReason(c)
	if fields != nil {
		return p.renderAdmin(c, fiber.StatusUnprocessableEntity,
			adminData{Error: "Auction #" + strconv.FormatInt(id, 10) + " was not cancelled.", Errors: fields})
	}
	if _, err := p.s.deps.Bidder.CancelAuction(c.UserContext(), admin, id, reason); err != nil {
		return p.refusedAdmin(c, adminData{}, err)
	}
	p.flash(c, sessionFlashKey, "Auction #"+strconv.FormatInt(id, 10)+" was cancelled.")
	return seeOther(c, "/admin")
}

// handleAdminSuspendForm suspends a user with a reason.
func (p *pages) handleAdminSuspendForm(c *fiber.Ctx) error {
	admin, done, err := p.adminUser(c)
	if done || err != nil {
		return err
	}
	d := adminData{SuspendReason: strings.TrimSpace(c.FormValue("reason"))}
	id, ok := parseID(strings.TrimSpace(c.FormValue("user_id")))
	reason, fields := adminReason(c)
	if !ok {
		fields = mergeFields(fields, map[string]string{"user_id": "Choose a user to suspend."})
	}
	if fields != nil {
		d.Error, d.Errors, d.SuspendUserID = "The user was not suspended.", fields, id
		return p.renderAdmin(c, fiber.StatusUnprocessableEntity, d)
	}
	d.SuspendUserID = id
	if err := p.s.deps.Bidder.SuspendUser(c.UserContext(), admin, id, reason); err != nil {
		return p.refusedAdmin(c, d, err)
	}
	p.flash(c, sessionFlashKey, "User #"+strconv.FormatInt(id, 10)+" was suspended.")
	return seeOther(c, "/admin")
}
