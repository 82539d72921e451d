package benchkit

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// TestPhaseProfileSamplesSessions: a session of the benchmark's database
// sleeping through the phase shows in the summary as active in
// Timeout:PgSleep for about the whole phase, and the phase's CPU profile
// is written.
func TestPhaseProfileSamplesSessions(t *testing.T) {
	url := testpg.URL(t)
	sqlDB, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	dir := t.TempDir()
	p, err := StartPhaseProfile(context.Background(), dir, "Sleeping phase", url, 400*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.Exec("SELECT pg_sleep(0.4)"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p.Finish(&out)
	line := out.String()
	i := strings.Index(line, "active / Timeout:PgSleep ")
	if i < 0 {
		t.Fatalf("no sleeping session in the summary:\n%s", line)
	}
	// The session slept through almost every sample: an average near 1.
	var avg float64
	if _, err := fmt.Sscan(line[i+len("active / Timeout:PgSleep "):], &avg); err != nil || avg < 0.5 || avg > 1.01 {
		t.Errorf("sleeping sessions on average %v (%v), want about 1:\n%s", avg, err, line)
	}
	if fi, err := os.Stat(filepath.Join(dir, "sleeping-phase.cpu.pprof")); err != nil || fi.Size() == 0 {
		t.Errorf("no CPU profile written: %v", err)
	}
}
