package category

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// Audit log actions of category edits.
const (
	ActionCreate = "category_create"
	ActionUpdate = "category_update"
	ActionDelete = "category_delete"
)

// auditRow is one audit_log entry; the table is shared with the other
// administrators' actions.
type auditRow struct {
	ID        int64 `gorm:"primaryKey"`
	ActorID   int64
	Action    string
	TargetID  int64
	Reason    string
	CreatedAt time.Time
}

func (auditRow) TableName() string { return "audit_log" }

func mayEdit(u domain.User) error {
	if !u.Admin || u.Suspended {
		return domain.ErrNotAdmin
	}
	return nil
}

// Create adds a category (a subcategory when in.ParentID is set).
func (s *Store) Create(ctx context.Context, admin domain.User, in domain.CategoryInput) (domain.Category, error) {
	if err := mayEdit(admin); err != nil {
		return domain.Category{}, err
	}
	in, err := domain.CleanCategoryInput(in)
	if err != nil {
		return domain.Category{}, err
	}
	var out row
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		parent, err := s.lockParent(tx, in.ParentID, 0)
		if err != nil {
			return err
		}
		now := s.now()
		out = row{Slug: in.Slug, Name: in.Name, Position: in.Position, CreatedAt: now, UpdatedAt: now}
		if in.ParentID != 0 {
			out.ParentID = &in.ParentID
		}
		if err := tx.Create(&out).Error; err != nil {
			return slugError(err, in.Slug)
		}
		return tx.Create(&auditRow{ActorID: admin.ID, Action: ActionCreate, TargetID: out.ID,
			Reason: "Created " + path(parent, in.Name) + " (" + in.Slug + ")", CreatedAt: now}).Error
	})
	if err != nil {
		return domain.Category{}, err
	}
	s.forget()
	return out.toDomain(), nil
}

// Update renames, re-slugs, reorders or moves a category. A top-level
// category with subcategories cannot become a subcategory itself: the tree
// has two levels.
func (s *Store) Update(ctx context.Context, admin domain.User, id int64, in domain.CategoryInput) (domain.Category, error) {
	if err := mayEdit(admin); err != nil {
		return domain.Category{}, err
	}
	in, err := domain.CleanCategoryInput(in)
	if err != nil {
		return domain.Category{}, err
	}
	var out row
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		old, err := s.lock(tx, id)
		if err != nil {
			return err
		}
		parent, err := s.lockParent(tx, in.ParentID, id)
		if err != nil {
			return err
		}
		if in.ParentID != 0 {
			var children int64
			if err := tx.Model(&row{}).Where("parent_id = ?", id).Count(&children).Error; err != nil {
				return err
			}
			if children > 0 {
				return domain.Invalid("parent_id", fmt.Sprintf("“%s” has %d subcategories, so it must stay at the top level.", old.Name, children))
			}
		}
		now := s.now()
		out = row{ID: id, Slug: in.Slug, Name: in.Name, Position: in.Position, CreatedAt: old.CreatedAt, UpdatedAt: now}
		if in.ParentID != 0 {
			out.ParentID = &in.ParentID
		}
		err = tx.Model(&row{}).Where("id = ?", id).
			Updates(map[string]any{"slug": out.Slug, "name": out.Name, "position": out.Position, "parent_id": out.ParentID, "updated_at": now}).Error
		if err != nil {
			return slugError(err, in.Slug)
		}
		var changes []string
		if old.Name != out.Name {
			changes = append(changes, "renamed “"+old.Name+"” to “"+out.Name+"”")
		}
		if old.Slug != out.Slug {
			changes = append(changes, "slug "+old.Slug+" → "+out.Slug)
		}
		if (old.ParentID == nil) != (out.ParentID == nil) || (old.ParentID != nil && *old.ParentID != *out.ParentID) {
			changes = append(changes, "moved to "+path(parent, ""))
		}
		if old.Position != out.Position {
			changes = append(changes, fmt.Sprintf("position %d → %d", old.Position, out.Position))
		}
		if len(changes) == 0 {
			changes = append(changes, "no change")
		}
		return tx.Create(&auditRow{ActorID: admin.ID, Action: ActionUpdate, TargetID: id,
			Reason: "“" + out.Name + "”: " + strings.Join(changes, "; "), CreatedAt: now}).Error
	})
	if err != nil {
		return domain.Category{}, err
	}
	s.forget()
	return out.toDomain(), nil
}

// Delete removes a category with no subcategories. Its lots move up to its
// parent, or become uncategorised when it was a top-level category; the
// audit entry says how many moved.
func (s *Store) Delete(ctx context.Context, admin domain.User, id int64) error {
	if err := mayEdit(admin); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		old, err := s.lock(tx, id)
		if err != nil {
			return err
		}
		var children int64
		if err := tx.Model(&row{}).Where("parent_id = ?", id).Count(&children).Error; err != nil {
			return err
		}
		if children > 0 {
			return &domain.Error{Code: domain.CodeConflict,
				Message: fmt.Sprintf("“%s” has %d subcategories: move or delete them first.", old.Name, children)}
		}
		res := tx.Exec("UPDATE auctions SET category_id = ? WHERE category_id = ?", old.ParentID, id)
		if res.Error != nil {
			return res.Error
		}
		if err := tx.Delete(&row{}, id).Error; err != nil {
			return err
		}
		where := "now uncategorised"
		if old.ParentID != nil {
			var parent row
			if err := tx.Take(&parent, *old.ParentID).Error; err != nil {
				return err
			}
			where = "moved to “" + parent.Name + "”"
		}
		return tx.Create(&auditRow{ActorID: admin.ID, Action: ActionDelete, TargetID: id,
			Reason: fmt.Sprintf("Deleted “%s” (%s); %d lots %s", old.Name, old.Slug, res.RowsAffected, where), CreatedAt: s.now()}).Error
	})
	if err != nil {
		return err
	}
	s.forget()
	return nil
}

func (s *Store) inTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(fn)
}

// lock reads a category and, on PostgreSQL, locks it for the transaction,
// so two edits of the tree around one category take turns.
func (s *Store) lock(tx *gorm.DB, id int64) (row, error) {
	var r row
	q := "SELECT * FROM categories WHERE id = ?"
	if s.pg {
		q += " FOR UPDATE"
	}
	if err := tx.Raw(q, id).Scan(&r).Error; err != nil {
		return r, err
	}
	if r.ID == 0 {
		return r, ErrCategoryNotFound
	}
	return r, nil
}

// lockParent checks that parentID (if any) names a top-level category other
// than self, and locks it: a category gains children only while it is
// locked, and is moved under another only while it is locked, so the tree
// cannot grow a third level between the check and the commit.
func (s *Store) lockParent(tx *gorm.DB, parentID, self int64) (*row, error) {
	if parentID == 0 {
		return nil, nil
	}
	if parentID == self {
		return nil, domain.Invalid("parent_id", "A category cannot be its own parent.")
	}
	p, err := s.lock(tx, parentID)
	if errors.Is(err, ErrCategoryNotFound) {
		return nil, domain.Invalid("parent_id", "The parent category does not exist.")
	}
	if err != nil {
		return nil, err
	}
	if p.ParentID != nil {
		return nil, domain.Invalid("parent_id", "“"+p.Name+"” is a subcategory; choose a top-level category as the parent.")
	}
	return &p, nil
}

// path names a category by its place in the tree, for the audit log.
func path(parent *row, name string) string {
	switch {
	case parent == nil && name == "":
		return "the top level"
	case parent == nil:
		return "“" + name + "”"
	case name == "":
		return "“" + parent.Name + "”"
	}
	return "“" + parent.Name + " › " + name + "”"
}

// slugError turns the unique index on slugs into a message for the admin.
func slugError(err error, slug string) error {
	var pg *pgconn.PgError
	if (errors.As(err, &pg) && pg.Code == "23505") || strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return &domain.Error{Code: domain.CodeConflict, Message: "The slug “" + slug + "” is already used by another category.",
			Fields: map[string]string{"slug": "Already used by another category."}}
	}
	return err
}
