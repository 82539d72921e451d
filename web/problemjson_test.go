package web

import (
	"math"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// TestAppendProblemMatchesMarshal: the hand encoder of problem documents
// gives json.Marshal's bytes, for the problems Gavel raises and for
// strings that need every kind of escape.
func TestAppendProblemMatchesMarshal(t *testing.T) {
	tricky := "a\"b\\c<d>e&f\n\r\t\b\f\x01\x1f \u2028\u2029 é 😀 \xff\xfe end"
	problems := []problem{
		resolve(&domain.Error{Code: domain.CodeConflict, Message: "Your bid must be at least €1.00.",
			Fields: map[string]string{"amount": "Must be at least €1.00."},
			Extra:  map[string]any{"min_next_bid": int64(100), "current_price": int64(50), "currency": "EUR"}}),
		resolve(rateLimited("You are bidding too fast. Please wait a moment.", 1500*time.Millisecond)),
		resolve(domain.ErrNotOpen),
		resolve(domain.Invalid("amount", tricky)),
		resolve(&domain.Error{Code: domain.CodeUnavailable, Message: tricky,
			Extra: map[string]any{"retry_after": 2, "type": "overridden?", tricky: tricky, "f": 1.5, "list": []int{1, 2},
				"nested": map[string]any{"<k>": "v&"}, "b": true, "nil": nil}}),
		{code: "odd_code", status: 418, title: tricky, detail: "", fields: map[string]string{tricky: "x", "a": tricky, "": ""}},
	}
	for i, p := range problems {
		got, ok := appendProblem(nil, p)
		if want := marshalProblem(p); !ok || string(got) != string(want) {
			t.Errorf("problem %d (ok %v):\n got %s\nwant %s", i, ok, got, want)
		}
	}
	// A value json.Marshal refuses: the fast path says so, and writeProblem
	// falls back to the members without extras.
	if _, ok := appendProblem(nil, problem{code: domain.CodeInvalid, extra: map[string]any{"x": math.Inf(1)}}); ok {
		t.Error("appendProblem encoded +Inf")
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("plain")
	f.Add("<script>&\"\\\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		p := problem{code: domain.CodeInvalid, title: s, detail: s, fields: map[string]string{s: s}, extra: map[string]any{s: s}}
		got, ok := appendProblem(nil, p)
		if want := marshalProblem(p); !ok || string(got) != string(want) {
			t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
		}
	})
}
