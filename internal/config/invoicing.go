package config

import (
	"fmt"
	"strconv"
	"strings"
)

// invoicingSettings are the rows of the settings table for invoicing.
func invoicingSettings() []settingRow {
	return []settingRow{
		{Setting{"GAVEL_COMMISSION_BPS", "", "0", "the platform's default commission on hammer prices, in basis points (1000 = 10%), until an admin sets one"},
			func(c *Config, v string) error {
				n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil || n < 0 || n > 10000 {
					return fmt.Errorf("must be a whole number of basis points from 0 to 10000 (got %q)", v)
				}
				c.CommissionBPS = n
				return nil
			}},
	}
}
