package web

import (
	"net/url"
	"strconv"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// searchPageLimit is the number of results a search page shows; the page
// watches them over one multiplexed stream, which takes at most
// maxStreamIDs.
const searchPageLimit = 48

// decorateCards adds the discovery extras to cards built from list, in the
// same order: the cover photo, the category, the watch button's state,
// and the watcher count where the viewer may see it and the card shows
// it. back is where a watch button's form returns to.
func (p *pages) decorateCards(c *fiber.Ctx, viewer domain.User, list []domain.Auction, cards []cardView, back string) error {
	if err := p.withCovers(c.UserContext(), cards); err != nil {
		return err
	}
	x, err := p.s.loadExtras(c.UserContext(), viewer, list)
	if err != nil {
		return err
	}
	for i, a := range list {
		card := &cards[i]
		x.apply(a, &card.AuctionView)
		running := a.Status == domain.StatusOpen || a.Status == domain.StatusScheduled
		card.Watching = card.You != nil && card.You.Watching
		card.CanWatch = p.s.deps.Watchlist != nil && viewer.ID != 0 && !card.Mine && (running || card.Watching)
		card.Back = back
		if card.Watchers != nil {
			card.WatcherCount = *card.Watchers
		}
	}
	return nil
}

// searchForm is the search page's form as submitted, to show it again.
type searchForm struct {
	Q, Category, Status, MinPrice, MaxPrice, Currency, EndingWithin, Sort string
	BuyNow                                                                bool
}

func readSearchForm(c *fiber.Ctx) searchForm {
	return searchForm{
		Q: c.Query("q"), Category: c.Query("category"), Status: c.Query("status"), MinPrice: c.Query("min_price"),
		MaxPrice: c.Query("max_price"), Currency: c.Query("currency"), EndingWithin: c.Query("ending_within"),
		Sort: c.Query("sort"), BuyNow: c.Query("buy_now") != "",
	}
}

// choice is one option of a select.
type choice struct {
	Value, Label string
	Sub          bool // a subcategory, indented under its parent
}

// searchData is the search page's Data (also a category's page).
type searchData struct {
	Heading  string
	Form     searchForm
	Action   string // where the form submits: /search, or the category's page
	Category *domain.Category
	Parent   *domain.Category  // a subcategory's parent, for the breadcrumb
	Children []domain.Category // the category's subcategories, with counts
	Cards    []cardView
	Next     string // URL of the next page, "" on the last
	Searched bool   // results are shown (no form error)
	Error    string
	Errors   map[string]string

	Categories    []choice
	Statuses      []choice
	Currencies    []string
	Sorts         []choice
	EndingWithins []choice
}

// sortLabels name the sorts in the form.
var sortLabels = map[domain.SearchSort]string{
	domain.SortEnding: "Ending soonest", domain.SortNewest: "Newly listed", domain.SortPriceLow: "Price: low to high",
	domain.SortPriceHigh: "Price: high to low", domain.SortBids: "Most bids", domain.SortRelevance: "Best match",
}

// handleSearchPage is /search: the form, and a live page of results.
func (p *pages) handleSearchPage(c *fiber.Ctx) error {
	return p.renderSearch(c, nil, nil)
}

// handleCategoryPage browses one category (and its subcategories) with
// the search form's filters.
func (p *pages) handleCategoryPage(c *fiber.Ctx) error {
	tree, err := p.s.deps.Categories.Tree(c.UserContext())
	if err != nil {
		return err
	}
	slug := c.Params("slug")
	for _, top := range tree {
		if top.Slug == slug {
			return p.renderSearch(c, &top, nil)
		}
		for _, child := range top.Children {
			if child.Slug == slug {
				return p.renderSearch(c, &child, &top)
			}
		}
	}
	return &domain.Error{Code: domain.CodeNotFound, Message: "There is no such category. All categories are listed at /categories."}
}

func (p *pages) renderSearch(c *fiber.Ctx, cat, parent *domain.Category) error {
	viewer, err := p.s.viewer(c)
	if err != nil {
		return err
	}
	d := searchData{Heading: "Search", Form: readSearchForm(c), Action: "/search", Category: cat, Parent: parent}
	if cat != nil {
		d.Heading, d.Action, d.Form.Category, d.Children = cat.Name, "/categories/"+cat.Slug, cat.Slug, cat.Children
	}
	if err := p.searchChoices(c, &d); err != nil {
		return err
	}
	pg := p.base(c, d.Heading, "search")
	status := fiber.StatusOK
	q, err := p.s.searchParams(c, true)
	if cat != nil && err == nil {
		q.CategoryIDs, err = p.s.deps.Categories.Subtree(c.UserContext(), cat.ID)
	}
	var page domain.SearchPage
	if err == nil {
		q.Limit = searchPageLimit
		page, err = p.s.deps.Search.Search(c.UserContext(), q)
	}
	if err != nil {
		pr, ok := pageProblem(err)
		if !ok {
			return err
		}
		status, d.Errors = pr.status, pr.fields
		if len(pr.fields) == 0 {
			d.Error = pr.detail
		}
	} else {
		d.Searched = true
		for _, a := range page.Auctions {
			d.Cards = append(d.Cards, newCard(a, viewer, pg.ServerTime))
		}
		if err := p.decorateCards(c, viewer, page.Auctions, d.Cards, requestPath(c)); err != nil {
			return err
		}
		if page.Next != "" {
			d.Next = nextPageURL(c, d.Action, page.Next)
		}
		if pg.User != nil {
			pg.Stream = streamURL(d.Cards)
			pg.Script = "js/list.js"
		}
	}
	pg.Data = d
	return p.r.render(c, status, "search", pg)
}

// nextPageURL is the current search with after set to the next cursor.
func nextPageURL(c *fiber.Ctx, action, next string) string {
	v := url.Values{}
	c.Context().QueryArgs().VisitAll(func(k, val []byte) {
		if string(k) != "after" {
			v.Add(string(k), string(val))
		}
	})
	v.Set("after", next)
	return action + "?" + v.Encode()
}

// searchChoices fills the form's options.
func (p *pages) searchChoices(c *fiber.Ctx, d *searchData) error {
	if p.s.deps.Categories != nil {
		all, err := p.s.deps.Categories.All(c.UserContext())
		if err != nil {
			return err
		}
		d.Categories = categoryChoices(all, false)
	}
	d.Statuses = []choice{{"", "Open and upcoming", false}, {"open", "Open now", false}, {"scheduled", "Upcoming", false},
		{"closed", "Ended", false}, {"closed,cancelled", "Ended or cancelled", false}, {"open,scheduled,closed,cancelled", "All", false}}
	d.Currencies = domain.CurrencyCodes()
	for _, s := range domain.SearchSorts() {
		d.Sorts = append(d.Sorts, choice{Value: string(s), Label: sortLabels[s]})
	}
	d.EndingWithins = []choice{{"", "Any time", false}, {"1h", "Within an hour", false}, {"24h", "Within a day", false}, {"168h", "Within a week", false}}
	return nil
}

// categoryChoices are the options of a category select: each top-level
// category, then its subcategories indented. Values are slugs, or ids
// when byID (a listing keeps its category across a rename of the slug).
func categoryChoices(all []domain.Category, byID bool) []choice {
	out := make([]choice, 0, len(all))
	for _, cat := range all {
		v := cat.Slug
		if byID {
			v = strconv.FormatInt(cat.ID, 10)
		}
		out = append(out, choice{Value: v, Label: cat.Name, Sub: cat.ParentID != 0})
	}
	return out
}

// handleCategoriesPage lists every category with its counts of running
// lots.
func (p *pages) handleCategoriesPage(c *fiber.Ctx) error {
	tree, err := p.s.deps.Categories.Tree(c.UserContext())
	if err != nil {
		return err
	}
	pg := p.base(c, "Categories", "categories")
	pg.Data = struct {
		Tree   []domain.Category
		Browse bool // category pages exist (search is on)
	}{tree, p.s.deps.Search != nil}
	return p.r.render(c, fiber.StatusOK, "categories", pg)
}
