package bidding

import (
	"context"

	"gorm.io/gorm/clause"
)

// settingRow is one fact about the installation (00004), such as
// demo=true on a database the demo seeded.
type settingRow struct {
	Key   string `gorm:"primaryKey"`
	Value string
}

func (settingRow) TableName() string { return "settings" }

// Setting returns the value stored under key, or "" when there is none.
func (s *Service) Setting(ctx context.Context, key string) (string, error) {
	var values []string
	err := s.db.WithContext(ctx).Model(&settingRow{}).Where("key = ?", key).Limit(1).Pluck("value", &values).Error
	if err != nil || len(values) == 0 {
		return "", err
	}
	return values[0], nil
}

// PutSetting stores value under key, replacing what was there.
func (s *Service) PutSetting(ctx context.Context, key, value string) error {
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "key"}},
		DoUpdates: clause.AssignmentColumns([]string{"value"}),
	}).Create(&settingRow{Key: key, Value: value}).Error
}
