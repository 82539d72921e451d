package natsserver

import (
	"fmt"
	"os"
	"testing"
)

// The link must bind the sampler's real path: if nats-server renamed the
// variable the build fails, and if it changed its meaning this fails.
// Writing it here would race with the sampler under -race, which is why
// StopProcessSampler belongs to main alone.
func TestSamplerPathIsLinked(t *testing.T) {
	if want := fmt.Sprintf("/proc/%d/stat", os.Getpid()); pseStatFile != want {
		t.Fatalf("pse.procStatFile = %q, want %q", pseStatFile, want)
	}
	if _, err := os.Stat(pseStatFile[:len(pseStatFile)-1] + "_"); !os.IsNotExist(err) {
		t.Fatalf("the stopped path must not exist: %v", err)
	}
}
