package web

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// maxSearchParam bounds a search parameter other than q, whose own limit
// the search applies with its own message.
const maxSearchParam = 200

// searchParams reads a search from the query string. The API takes prices
// in minor units; the HTML form (major) in the currency's major units, as
// people write them ("12.50"). Every problem is reported at once, by
// field.
func (s *Server) searchParams(c *fiber.Ctx, major bool) (domain.SearchQuery, error) {
	q := domain.SearchQuery{Text: c.Query("q"), After: c.Query("after")}
	fields := map[string]string{}
	bad := func(field, msg string) {
		if _, ok := fields[field]; !ok {
			fields[field] = msg
		}
	}
	for _, name := range []string{"category", "status", "min_price", "max_price", "currency", "ending_within", "buy_now", "sale", "sort", "limit"} {
		if v := c.Query(name); len(v) > maxSearchParam || !utf8.ValidString(v) {
			bad(name, name+" is too long or not valid text.")
		}
	}
	if len(fields) > 0 {
		return q, domain.FieldErrors(fields)
	}
	if ref := strings.TrimSpace(c.Query("category")); ref != "" {
		if err := s.searchCategory(c, ref, &q); err != nil {
			if de, ok := err.(*domain.Error); ok && de.Code == domain.CodeInvalid {
				bad("category", de.Message)
			} else {
				return q, err
			}
		}
	}
	var err error
	if q.Statuses, err = parseStatuses(c.Query("status")); err != nil {
		bad("status", domain.ErrorMessage(err))
	}
	q.Currency = strings.ToUpper(strings.TrimSpace(c.Query("currency")))
	for _, p := range []struct {
		name string
		dst  **int64
	}{{"min_price", &q.MinPrice}, {"max_price", &q.MaxPrice}} {
		v := strings.TrimSpace(c.Query(p.name))
		if v == "" {
			continue
		}
		var n int64
		var err error
		switch {
		case !major:
			n, err = strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				err = domain.Invalid(p.name, p.name+" must be a whole number of minor units (cents), such as 1250 for 12.50.")
			}
		case q.Currency == "":
			err = domain.Invalid(p.name, "Choose a currency to filter by price.")
		default:
			n, err = domain.ParseAmount(v, q.Currency)
		}
		if err != nil {
			bad(p.name, domain.ErrorMessage(err))
			continue
		}
		*p.dst = &n
	}
	if v := strings.TrimSpace(c.Query("ending_within")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			bad("ending_within", "ending_within must be a duration of at least a minute, such as 30m, 2h or 48h.")
		}
		q.EndingWithin = d
	}
	switch v := strings.ToLower(strings.TrimSpace(c.Query("buy_now"))); v {
	case "", "0", "false", "off":
	case "1", "true", "on":
		q.BuyNow = true
	default:
		bad("buy_now", "buy_now must be true or false.")
	}
	if v := strings.TrimSpace(c.Query("sale")); v != "" {
		id, ok := parseID(v)
		if !ok {
			bad("sale", "sale must be a sale id.")
		}
		q.SaleID = id
	}
	if q.Sort, err = domain.ParseSearchSort(c.Query("sort")); err != nil {
		bad("sort", domain.ErrorMessage(err))
	}
	limit, err := queryLimit(c, defaultListLimit, maxListLimit)
	if err != nil {
		bad("limit", domain.ErrorMessage(err))
	}
	q.Limit = limit
	return q, domain.FieldErrors(fields)
}

// searchCategory sets q's categories from a slug or id: the category and
// its subcategories.
func (s *Server) searchCategory(c *fiber.Ctx, ref string, q *domain.SearchQuery) error {
	if s.deps.Categories == nil {
		return domain.Invalid("category", "Categories are not available on this server.")
	}
	cat, err := s.deps.Categories.Resolve(c.UserContext(), ref)
	if err != nil {
		return err
	}
	q.CategoryIDs, err = s.deps.Categories.Subtree(c.UserContext(), cat.ID)
	return err
}

// searchResults is the search response.
type searchResults struct {
	Results    []domain.AuctionView `json:"results"`
	Next       string               `json:"next"`
	ServerTime time.Time            `json:"server_time"`
}

// handleSearch answers GET /api/v1/search.
func (s *Server) handleSearch(c *fiber.Ctx) error {
	viewer, err := s.viewer(c)
	if err != nil {
		return err
	}
	q, err := s.searchParams(c, false)
	if err != nil {
		return err
	}
	page, err := s.deps.Search.Search(c.UserContext(), q)
	if err != nil {
		return err
	}
	now := s.now()
	views, err := s.auctionViews(c.UserContext(), viewer, page.Auctions, now)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, searchResults{Results: views, Next: page.Next, ServerTime: now})
}
