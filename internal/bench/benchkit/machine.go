package benchkit

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// MachineCPU is the machine's CPU time so far, in clock ticks, from the
// first line of /proc/stat (zero where there is none).
type MachineCPU struct {
	Total int64 // every state
	Busy  int64 // all but idle and iowait
	Niced int64 // user time of processes with a positive nice value
}

// ReadMachineCPU reads the machine's CPU time so far.
func ReadMachineCPU() MachineCPU {
	var m MachineCPU
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return m
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return m
	}
	// user nice system idle iowait irq softirq steal ...
	for i, f := range fields[1:] {
		v, _ := strconv.ParseInt(f, 10, 64)
		m.Total += v
		if i != 3 && i != 4 {
			m.Busy += v
		}
		if i == 1 {
			m.Niced = v
		}
	}
	return m
}

// Since describes the machine's CPU between m0 and m: the busy share of
// all its cores, and the user time that niced processes (other engineers'
// builds, a benchmark's own low-priority clients) took of it (their
// system time is not told apart in /proc/stat).
func (m MachineCPU) Since(m0 MachineCPU) string {
	t := m.Total - m0.Total
	if t <= 0 {
		return "machine CPU not measured"
	}
	return fmt.Sprintf("machine %.0f%% busy (user time of niced processes %.0f%%)",
		100*float64(m.Busy-m0.Busy)/float64(t), 100*float64(m.Niced-m0.Niced)/float64(t))
}
