package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

func TestSlugify(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"Jewellery & Watches", "jewellery-and-watches"},
		{"Books & Manuscripts", "books-and-manuscripts"},
		{"  Oil   paintings ", "oil-paintings"},
		{"Cars & Motorbikes!", "cars-and-motorbikes"},
		{"Café Crème", "cafe-creme"},
		{"Toys/Models 1:43", "toys-models-1-43"},
		{"&", "and"},
		{"Старинные часы", ""},
		{"日本", ""},
		{"", ""},
		{strings.Repeat("ab ", 40), strings.TrimRight(strings.Repeat("ab-", 20), "-")},
	} {
		if got := domain.Slugify(tt.in); got != tt.want {
			t.Errorf("Slugify(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if tt.want != "" && !domain.ValidSlug(domain.Slugify(tt.in)) {
			t.Errorf("Slugify(%q) = %q is not a valid slug", tt.in, domain.Slugify(tt.in))
		}
	}
}

func TestValidSlug(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"art", true}, {"oil-paintings", true}, {"x1", true},
		{"", false}, {"-art", false}, {"art-", false}, {"a--b", false}, {"Art", false},
		{"a b", false}, {"a_b", false}, {"café", false}, {strings.Repeat("a", 61), false},
	} {
		if got := domain.ValidSlug(tt.in); got != tt.want {
			t.Errorf("ValidSlug(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestCleanCategoryInput(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		in         domain.CategoryInput
		wantSlug   string
		wantFields []string
	}{
		{name: "derived slug", in: domain.CategoryInput{Name: " Wine & Spirits "}, wantSlug: "wine-and-spirits"},
		{name: "own slug", in: domain.CategoryInput{Name: "Часы", Slug: "clocks"}, wantSlug: "clocks"},
		{name: "no slug derivable", in: domain.CategoryInput{Name: "Часы"}, wantFields: []string{"slug"}},
		{name: "bad slug", in: domain.CategoryInput{Name: "Art", Slug: "Art!"}, wantFields: []string{"slug"}},
		{name: "empty name", in: domain.CategoryInput{}, wantFields: []string{"name"}},
		{name: "long name", in: domain.CategoryInput{Name: strings.Repeat("é", 61)}, wantFields: []string{"name"}},
		{name: "control", in: domain.CategoryInput{Name: "a\x00b"}, wantFields: []string{"name"}},
		{name: "position", in: domain.CategoryInput{Name: "Art", Position: -1}, wantFields: []string{"position"}},
		{name: "parent", in: domain.CategoryInput{Name: "Art", ParentID: -3}, wantFields: []string{"parent_id"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.CleanCategoryInput(tt.in)
			if len(tt.wantFields) == 0 {
				if err != nil || got.Slug != tt.wantSlug {
					t.Fatalf("got %+v, %v; want slug %q", got, err, tt.wantSlug)
				}
				return
			}
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != domain.CodeInvalid {
				t.Fatalf("err = %v, want invalid", err)
			}
			for _, f := range tt.wantFields {
				if de.Fields[f] == "" {
					t.Errorf("no message for %s in %v", f, de.Fields)
				}
			}
		})
	}
}

func TestAuctionCategory(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	seven, zero, bad := int64(7), int64(0), int64(-1)
	in := domain.AuctionInput{Title: "Lamp", Currency: "EUR", StartPrice: 100, EndsAt: now.Add(time.Hour), CategoryID: &seven}
	a, err := domain.NewAuction(1, in, now)
	if err != nil || a.CategoryID != 7 {
		t.Fatalf("NewAuction: category %d, %v", a.CategoryID, err)
	}
	in.CategoryID = nil
	if e, err := domain.Edit(a, in, now); err != nil || e.CategoryID != 7 {
		t.Errorf("edit without a category: %d, %v; want it kept", e.CategoryID, err)
	}
	in.CategoryID = &zero
	if e, err := domain.Edit(a, in, now); err != nil || e.CategoryID != 0 {
		t.Errorf("edit with category 0: %d, %v; want it cleared", e.CategoryID, err)
	}
	in.CategoryID = &bad
	if _, err := domain.NewAuction(1, in, now); domain.ErrorCode(err) != domain.CodeInvalid {
		t.Errorf("negative category: %v", err)
	}
}
