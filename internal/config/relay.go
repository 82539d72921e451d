package config

import "time"

// MaxRelayYield bounds GAVEL_RELAY_YIELD: each relay round may wait this
// long before publishing, so a larger value would show as delivery delay
// on every event of a busy sale.
const MaxRelayYield = 250 * time.Millisecond

// relaySettings are the rows of the settings table for the outbox relay.
func relaySettings() []settingRow {
	return []settingRow{
		{Setting{"GAVEL_RELAY_YIELD", "", "30ms", "longest the outbox relay waits for a bid batch in flight on its node before it publishes; 0 never waits"},
			parseDuration("30ms, or 0", func(c *Config) *time.Duration { return &c.RelayYield })},
	}
}

// validateRelay reports a GAVEL_RELAY_YIELD out of range.
func (c *Config) validateRelay(bad func(key, format string, args ...any)) {
	if c.RelayYield < 0 || c.RelayYield > MaxRelayYield {
		bad("GAVEL_RELAY_YIELD", "must be from 0 to %s (got %s)", MaxRelayYield, c.RelayYield)
	}
}
