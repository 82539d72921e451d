package chaos

import (
	"fmt"
	"os"
	"runtime"
	"strings"
)

// Table renders results as a markdown table.
func Table(rs []Result) string {
	var b strings.Builder
	b.WriteString("| check | result | measured |\n|---|---|---|\n")
	for _, r := range rs {
		res := "pass"
		if !r.OK {
			res = "**FAIL**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.Check, res, strings.ReplaceAll(r.Detail, "|", "/"))
	}
	return b.String()
}

// Machine describes where the run happened, for the record: CPUs, memory
// and the load average at the time.
func Machine() string {
	load := "?"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			load = strings.Join(f[:3], " ")
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "MemTotal:") {
				_, _ = fmt.Sscan(strings.TrimPrefix(line, "MemTotal:"), &kb)
			}
		}
		mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
	}
	return fmt.Sprintf("%d CPUs%s, %s/%s; load average %s", runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH, load)
}
