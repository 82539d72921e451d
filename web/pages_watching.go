package web

import (
	"strconv"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// handleWatchingPage is /me/watching: every lot the user watches, live
// over one multiplexed stream, running ones ending soonest first. The
// reminders arrive as toasts on any page, through the shared /stream/me.
func (p *pages) handleWatchingPage(c *fiber.Ctx) error {
	u, err := p.s.requireUser(c)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeUnauthorized {
			return toLogin(c, requestPath(c))
		}
		return err
	}
	list, err := p.s.watchedAuctions(c.UserContext(), u)
	if err != nil {
		return err
	}
	pg := p.base(c, "Watching", "watching")
	cards := make([]cardView, 0, len(list))
	for _, a := range list {
		cards = append(cards, newCard(a, u, pg.ServerTime))
	}
	if err := p.decorateCards(c, u, list, cards, "/me/watching"); err != nil {
		return err
	}
	pg.Stream = streamURL(cards)
	pg.Script = "js/list.js"
	pg.Data = struct{ Cards []cardView }{cards}
	return p.r.render(c, fiber.StatusOK, "watching", pg)
}

// handleWatchForm is the watch button without JavaScript: action=watch or
// unwatch, then back to next (a path on this site) or the lot's page.
func (p *pages) handleWatchForm(c *fiber.Ctx) error {
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	back := safeNext(c.FormValue("next"))
	if back == "" {
		back = "/auctions/" + strconv.FormatInt(id, 10)
	}
	u, err := p.s.requireActor(c)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeUnauthorized {
			return toLogin(c, back)
		}
		return err
	}
	switch c.FormValue("action") {
	case "unwatch":
		if _, err := p.s.deps.Watchlist.Unwatch(c.UserContext(), u, id); err != nil {
			return err
		}
		p.flash(c, sessionFlashKey, "Removed from your watchlist.")
	case "watch", "":
		if _, err := p.s.deps.Watchlist.Watch(c.UserContext(), u, id); err != nil {
			return err
		}
		p.flash(c, sessionFlashKey, "Added to your watchlist: you will be reminded before it ends.")
	default:
		return domain.Invalid("action", "action must be watch or unwatch.")
	}
	return seeOther(c, back)
}
