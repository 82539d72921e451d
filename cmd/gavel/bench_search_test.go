package main

import "testing"

func TestUntimedURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"postgres://u@h:5432/db?sslmode=disable",
			"postgres://u@h:5432/db?idle_in_transaction_session_timeout=0&lock_timeout=0&sslmode=disable&statement_timeout=0"},
		// A URL's own setting wins.
		{"postgresql://h/db?statement_timeout=60000",
			"postgresql://h/db?idle_in_transaction_session_timeout=0&lock_timeout=0&statement_timeout=60000"},
		{"sqlite.db", "sqlite.db"},
		{"", ""},
	} {
		if got := untimedURL(tt.in); got != tt.want {
			t.Errorf("untimedURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
