package ssebench

// What the benchmark measures of the machine and of its processes.

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
)

// machineCPU is the machine's busy and total CPU time, in ticks.
func machineCPU() (busy, total int64) {
	m := benchkit.ReadMachineCPU()
	return m.Busy, m.Total
}

func busySince(b0, t0 int64) float64 {
	b1, t1 := machineCPU()
	if t1 == t0 {
		return 0
	}
	return 100 * float64(b1-b0) / float64(t1-t0)
}

// procRSS is a process's resident set in bytes.
func procRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// procCPU is a process's user plus system CPU time.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14 and stime 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const clockTicks = 100 // USER_HZ, 100 on every Linux architecture Go supports
	return time.Duration(ut+st) * time.Second / clockTicks
}
