package photobench

import (
	"testing"
	"time"
)

func TestPhotoSize(t *testing.T) {
	start := time.Now()
	b := Photo(2000, 1500, 1)
	t.Logf("3 MP test photo: %d bytes in %v", len(b), time.Since(start))
	if len(b) < 512<<10 || len(b) > 4<<20 {
		t.Fatalf("a 3 MP test photo of %d bytes does not compress like a photo", len(b))
	}
}
