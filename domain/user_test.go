package domain_test

import (
	"strings"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
)

func TestValidateRegistration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, email, password, user string
		bad                         []string // fields that must be reported
	}{
		{"valid", "ann@example.com", "correct horse", "Ann", nil},
		{"display-name form", "Ann <ann@example.com>", "correct horse", "Ann", []string{"email"}},
		{"no domain", "ann@", "correct horse", "Ann", []string{"email"}},
		{"email too long", strings.Repeat("a", 250) + "@x.io", "correct horse", "Ann", []string{"email"}},
		{"short password", "ann@example.com", "seven77", "Ann", []string{"password"}},
		{"password past bcrypt's limit", "ann@example.com", strings.Repeat("p", 73), "Ann", []string{"password"}},
		{"empty name", "ann@example.com", "correct horse", "", []string{"name"}},
		{"name too long", "ann@example.com", "correct horse", strings.Repeat("n", 81), []string{"name"}},
		{"control character", "ann@example.com", "correct horse", "Ann\nevent: x", []string{"name"}},
		{"everything", "", "", "", []string{"email", "password", "name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := domain.ValidateRegistration(tt.email, tt.password, tt.user)
			if len(tt.bad) == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			e, ok := err.(*domain.Error)
			if !ok || e.Code != domain.CodeInvalid || len(e.Fields) != len(tt.bad) {
				t.Fatalf("error %#v, want invalid with fields %v", err, tt.bad)
			}
			for _, f := range tt.bad {
				if e.Fields[f] == "" {
					t.Errorf("no message for %s", f)
				}
			}
			if len(tt.bad) == 1 && e.Message != e.Fields[tt.bad[0]] {
				t.Errorf("a single problem's summary %q should be its field message %q", e.Message, e.Fields[tt.bad[0]])
			}
		})
	}
	if domain.FieldErrors(nil) != nil {
		t.Fatal("FieldErrors(nil) must be nil")
	}
}
