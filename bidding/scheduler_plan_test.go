package bidding

import (
	"slices"
	"testing"
	"time"
)

func TestPlanCloses(t *testing.T) {
	t.Parallel()
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	lot := func(n int) *int { return &n }
	cutoff := at(30)
	for _, tt := range []struct {
		name     string
		found    []closeCandidate // in end-floor order, as read
		full     bool
		due      []int64
		foldWant []int64
	}{
		{"every candidate read: due ones close in end order, a moved one not yet due is folded",
			[]closeCandidate{{ID: 2, EndsAt: at(20), EndsFloor: at(5)}, {ID: 1, EndsAt: at(10), EndsFloor: at(10)},
				{ID: 3, EndsAt: at(40), EndsFloor: at(8)}},
			false, []int64{1, 2}, []int64{3}},
		{"a cut read: a lot ending after the last floor read waits, folded",
			[]closeCandidate{{ID: 2, EndsAt: at(25), EndsFloor: at(5)}, {ID: 1, EndsAt: at(10), EndsFloor: at(10)},
				{ID: 4, EndsAt: at(12), EndsFloor: at(12)}},
			true, []int64{1, 4}, []int64{2}},
		{"equal ends close in lot order",
			[]closeCandidate{{ID: 7, EndsAt: at(10), EndsFloor: at(10), LotNumber: lot(3)},
				{ID: 8, EndsAt: at(10), EndsFloor: at(10), LotNumber: lot(2)}},
			false, []int64{8, 7}, nil},
	} {
		due, fold := planCloses(tt.found, cutoff, tt.full)
		if !slices.Equal(due, tt.due) || !slices.Equal(fold, tt.foldWant) {
			t.Errorf("%s: close %v fold %v, want close %v fold %v", tt.name, due, fold, tt.due, tt.foldWant)
		}
	}
}
