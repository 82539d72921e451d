package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on categories.
const (
	MaxCategoryNameRunes = 60
	MaxCategorySlugLen   = 60
)

// Category is one node of the two-level category tree: a top-level
// category (ParentID 0) or one of its subcategories. Lots belong to either.
type Category struct {
	ID       int64  `json:"id"`
	ParentID int64  `json:"parent_id,omitempty"`
	Slug     string `json:"slug"`
	Name     string `json:"name"`
	Position int    `json:"position"`
	// OpenCount and ScheduledCount are how many lots in the category are
	// open now and how many are listed to start later; a top-level
	// category's counts include its subcategories'.
	OpenCount      int `json:"open_count"`
	ScheduledCount int `json:"scheduled_count"`
	// Children are the subcategories, in position order (tree reads only).
	Children []Category `json:"children,omitempty"`
}

// Running is how many lots in the category are open or upcoming.
func (c Category) Running() int { return c.OpenCount + c.ScheduledCount }

// Ref is the short form of c that an auction carries.
func (c Category) Ref() *CategoryRef {
	return &CategoryRef{ID: c.ID, Slug: c.Slug, Name: c.Name, ParentID: c.ParentID}
}

// CategoryRef names an auction's category in its JSON resource.
type CategoryRef struct {
	ID       int64  `json:"id"`
	Slug     string `json:"slug"`
	Name     string `json:"name"`
	ParentID int64  `json:"parent_id,omitempty"`
}

// CategoryInput is what an administrator supplies to create or change a
// category. An empty Slug is derived from Name.
type CategoryInput struct {
	Name     string
	Slug     string
	ParentID int64 // 0: top level
	Position int
}

// CleanCategoryInput trims in, derives a missing slug from the name, and
// reports every problem at once, keyed by field name.
func CleanCategoryInput(in CategoryInput) (CategoryInput, error) {
	fields := map[string]string{}
	in.Name = strings.TrimSpace(in.Name)
	switch n := utf8.RuneCountInString(in.Name); {
	case !utf8.ValidString(in.Name) || strings.ContainsFunc(in.Name, unicode.IsControl):
		fields["name"] = "The name contains invalid characters."
	case n == 0:
		fields["name"] = "Enter a name."
	case n > MaxCategoryNameRunes:
		fields["name"] = "Keep the name to 60 characters."
	}
	in.Slug = strings.TrimSpace(in.Slug)
	if in.Slug == "" {
		in.Slug = Slugify(in.Name)
	}
	if _, named := fields["name"]; !named && !ValidSlug(in.Slug) {
		fields["slug"] = "Enter a slug of lowercase letters a-z, digits and single hyphens, such as “oil-paintings” (at most 60)."
	}
	if in.ParentID < 0 {
		fields["parent_id"] = "Choose a top-level category, or none."
	}
	if in.Position < 0 || in.Position > 10_000 {
		fields["position"] = "The position must be a whole number from 0 to 10000."
	}
	return in, FieldErrors(fields)
}

// ValidSlug reports whether s is a category slug: lowercase ASCII letters
// and digits in words joined by single hyphens.
func ValidSlug(s string) bool {
	if s == "" || len(s) > MaxCategorySlugLen || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Slugify derives a slug from a name: "Jewellery & Watches" becomes
// "jewellery-and-watches". Letters outside ASCII lose their accents where
// they are plain Latin letters with one; any other text gives "" (the
// administrator then chooses the slug).
func Slugify(name string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(name) {
		if r == '&' {
			if b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteString("and")
			hyphen = true
			continue
		}
		if f, ok := latinFold[r]; ok {
			r = f
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
			continue
		}
		hyphen = true
	}
	s := b.String()
	if len(s) > MaxCategorySlugLen {
		s = strings.TrimRight(s[:MaxCategorySlugLen], "-")
	}
	return s
}

// latinFold maps common accented Latin letters to their base letter.
var latinFold = map[rune]rune{
	'à': 'a', 'á': 'a', 'â': 'a', 'ã': 'a', 'ä': 'a', 'å': 'a', 'ç': 'c', 'è': 'e', 'é': 'e', 'ê': 'e', 'ë': 'e',
	'ì': 'i', 'í': 'i', 'î': 'i', 'ï': 'i', 'ñ': 'n', 'ò': 'o', 'ó': 'o', 'ô': 'o', 'õ': 'o', 'ö': 'o', 'ø': 'o',
	'ù': 'u', 'ú': 'u', 'û': 'u', 'ü': 'u', 'ý': 'y', 'ÿ': 'y',
}
