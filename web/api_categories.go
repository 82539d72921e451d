package web

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// categoryRef is the "category" of a listing's JSON body: a slug or an id,
// as a string or a number. Absent or null leaves it unset.
type categoryRef struct {
	set   bool
	value string
}

// UnmarshalJSON accepts "paintings", "12", 12 and null.
func (r *categoryRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*r = categoryRef{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*r = categoryRef{set: true, value: s}
		return nil
	}
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		*r = categoryRef{set: true, value: strconv.FormatInt(n, 10)}
		return nil
	}
	kind := "number " + string(b)
	switch b[0] {
	case '{':
		kind = "object"
	case '[':
		kind = "array"
	case 't', 'f':
		kind = "bool"
	}
	// The decoder adds the field's name.
	return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[string]()}
}

// bodyCategory resolves a listing's category: nil when the body left it
// unset, 0 when it removes it ("").
func (s *Server) bodyCategory(c *fiber.Ctx, ref categoryRef) (*int64, error) {
	if !ref.set {
		return nil, nil
	}
	return s.resolveCategory(c, ref.value)
}

// resolveCategory turns a slug or id into a category id; "" is none.
func (s *Server) resolveCategory(c *fiber.Ctx, ref string) (*int64, error) {
	var id int64
	if strings.TrimSpace(ref) != "" {
		if s.deps.Categories == nil {
			return nil, domain.Invalid("category", "Categories are not available on this server.")
		}
		cat, err := s.deps.Categories.Resolve(c.UserContext(), ref)
		if err != nil {
			return nil, err
		}
		id = cat.ID
	}
	return &id, nil
}

// categoryTree is the categories response.
type categoryTree struct {
	Categories []domain.Category `json:"categories"`
}

// handleCategoryList returns the tree with the counts of running lots.
func (s *Server) handleCategoryList(c *fiber.Ctx) error {
	tree, err := s.deps.Categories.Tree(c.UserContext())
	if err != nil {
		return err
	}
	if tree == nil {
		tree = []domain.Category{}
	}
	return writeJSON(c, fiber.StatusOK, categoryTree{Categories: tree})
}

// categoryBody is an administrator's category as JSON.
type categoryBody struct {
	Name     string       `json:"name"`
	Slug     string       `json:"slug"`
	Parent   *categoryRef `json:"parent"`
	Position int          `json:"position"`
}

// input resolves the body's parent (a slug or id; null or "" for none).
func (s *Server) categoryInput(c *fiber.Ctx, b categoryBody) (domain.CategoryInput, error) {
	in := domain.CategoryInput{Name: b.Name, Slug: b.Slug, Position: b.Position}
	if b.Parent != nil && b.Parent.set && strings.TrimSpace(b.Parent.value) != "" {
		p, err := s.deps.Categories.Resolve(c.UserContext(), b.Parent.value)
		if err != nil {
			return in, domain.Invalid("parent", "There is no category “"+truncate(b.Parent.value, 60)+"” to put this one under.")
		}
		in.ParentID = p.ID
	}
	return in, nil
}

// categoryParam reads the :id of an admin category route; a malformed id
// is a 404 like one that does not exist.
func categoryParam(c *fiber.Ctx) (int64, error) {
	id, ok := parseID(c.Params("id"))
	if !ok {
		return 0, &domain.Error{Code: domain.CodeNotFound, Message: "No such category."}
	}
	return id, nil
}

// handleCategoryCreate adds a category (admins only; audited).
func (s *Server) handleCategoryCreate(c *fiber.Ctx) error {
	admin, err := s.requireAdmin(c)
	if err != nil {
		return err
	}
	var b categoryBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	in, err := s.categoryInput(c, b)
	if err != nil {
		return err
	}
	cat, err := s.deps.Categories.Create(c.UserContext(), admin, in)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusCreated, cat)
}

// handleCategoryUpdate renames, re-slugs, moves or reorders a category.
func (s *Server) handleCategoryUpdate(c *fiber.Ctx) error {
	admin, err := s.requireAdmin(c)
	if err != nil {
		return err
	}
	id, err := categoryParam(c)
	if err != nil {
		return err
	}
	var b categoryBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	in, err := s.categoryInput(c, b)
	if err != nil {
		return err
	}
	cat, err := s.deps.Categories.Update(c.UserContext(), admin, id, in)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, cat)
}

// handleCategoryDelete removes a category without subcategories; its lots
// move to its parent.
func (s *Server) handleCategoryDelete(c *fiber.Ctx) error {
	admin, err := s.requireAdmin(c)
	if err != nil {
		return err
	}
	id, err := categoryParam(c)
	if err != nil {
		return err
	}
	if err := s.deps.Categories.Delete(c.UserContext(), admin, id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
