package web

import (
	"strconv"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// adminCategoriesData is the admin categories page's Data.
type adminCategoriesData struct {
	Tree []domain.Category
	Rows []categoryRow
	// A refused form, shown again: FormID is "new" or the category's id.
	FormID string
	Values map[string]string
	Error  string
	Errors map[string]string
}

// categoryRow is one row of the admin table, with its edit form.
type categoryRow struct {
	Category domain.Category
	Parents  []domain.Category
	// Mine: this row's form was refused; Values are what was sent, and
	// ParentID the parent chosen in it.
	Mine     bool
	Values   map[string]string
	ParentID int64
}

func (d adminCategoriesData) row(c domain.Category) categoryRow {
	r := categoryRow{Category: c, Parents: d.Tree, ParentID: c.ParentID}
	if d.FormID == strconv.FormatInt(c.ID, 10) && d.Values != nil {
		r.Mine, r.Values = true, d.Values
		r.ParentID, _ = strconv.ParseInt(d.Values["parent_id"], 10, 64)
	}
	return r
}

// handleAdminCategoriesPage shows the tree with a form per category and
// one to add a category.
func (p *pages) handleAdminCategoriesPage(c *fiber.Ctx) error {
	if _, done, err := p.adminUser(c); done || err != nil {
		return err
	}
	return p.renderAdminCategories(c, fiber.StatusOK, adminCategoriesData{})
}

func (p *pages) renderAdminCategories(c *fiber.Ctx, status int, d adminCategoriesData) error {
	tree, err := p.s.deps.Categories.Tree(c.UserContext())
	if err != nil {
		return err
	}
	d.Tree = tree
	for _, top := range tree {
		d.Rows = append(d.Rows, d.row(top))
		for _, child := range top.Children {
			d.Rows = append(d.Rows, d.row(child))
		}
	}
	pg := p.base(c, "Categories", "admin")
	pg.Data = d
	return p.r.render(c, status, "admin_categories", pg)
}

// categoryForm reads an admin's category form.
func categoryForm(c *fiber.Ctx) (domain.CategoryInput, map[string]string, map[string]string) {
	values := map[string]string{
		"name": strings.TrimSpace(c.FormValue("name")), "slug": strings.TrimSpace(c.FormValue("slug")),
		"parent_id": strings.TrimSpace(c.FormValue("parent_id")), "position": strings.TrimSpace(c.FormValue("position")),
	}
	in := domain.CategoryInput{Name: values["name"], Slug: values["slug"]}
	errs := map[string]string{}
	if v := values["parent_id"]; v != "" {
		id, ok := parseID(v)
		if !ok {
			errs["parent_id"] = "Choose a parent from the list."
		}
		in.ParentID = id
	}
	if v := values["position"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs["position"] = "The position must be a whole number."
		}
		in.Position = n
	}
	return in, values, errs
}

// refusedCategory re-renders the page with the form that failed.
func (p *pages) refusedCategory(c *fiber.Ctx, formID string, values map[string]string, err error) error {
	pr, ok := pageProblem(err)
	if !ok {
		return err
	}
	d := adminCategoriesData{FormID: formID, Values: values, Error: pr.detail, Errors: pr.fields}
	return p.renderAdminCategories(c, pr.status, d)
}

// handleAdminCategoryCreateForm adds a category.
func (p *pages) handleAdminCategoryCreateForm(c *fiber.Ctx) error {
	admin, done, err := p.adminUser(c)
	if done || err != nil {
		return err
	}
	in, values, errs := categoryForm(c)
	if len(errs) > 0 {
		return p.refusedCategory(c, "new", values, domain.FieldErrors(errs))
	}
	cat, err := p.s.deps.Categories.Create(c.UserContext(), admin, in)
	if err != nil {
		return p.refusedCategory(c, "new", values, err)
	}
	p.flash(c, sessionFlashKey, "Category “"+cat.Name+"” was added.")
	return seeOther(c, "/admin/categories")
}

// handleAdminCategoryUpdateForm saves one category's form.
func (p *pages) handleAdminCategoryUpdateForm(c *fiber.Ctx) error {
	admin, done, err := p.adminUser(c)
	if done || err != nil {
		return err
	}
	id, err := categoryParam(c)
	if err != nil {
		return err
	}
	formID := strconv.FormatInt(id, 10)
	in, values, errs := categoryForm(c)
	if len(errs) > 0 {
		return p.refusedCategory(c, formID, values, domain.FieldErrors(errs))
	}
	cat, err := p.s.deps.Categories.Update(c.UserContext(), admin, id, in)
	if err != nil {
		return p.refusedCategory(c, formID, values, err)
	}
	p.flash(c, sessionFlashKey, "Category “"+cat.Name+"” was saved.")
	return seeOther(c, "/admin/categories")
}

// handleAdminCategoryDeleteForm deletes a category without subcategories.
func (p *pages) handleAdminCategoryDeleteForm(c *fiber.Ctx) error {
	admin, done, err := p.adminUser(c)
	if done || err != nil {
		return err
	}
	id, err := categoryParam(c)
	if err != nil {
		return err
	}
	if err := p.s.deps.Categories.Delete(c.UserContext(), admin, id); err != nil {
		return p.refusedCategory(c, strconv.FormatInt(id, 10), nil, err)
	}
	p.flash(c, sessionFlashKey, "The category was deleted; its lots moved to its parent category.")
	return seeOther(c, "/admin/categories")
}
