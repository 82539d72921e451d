package benchkit

import "testing"

func TestMachineCPUSince(t *testing.T) {
	m0 := MachineCPU{Total: 1000, Busy: 400, Niced: 100}
	m1 := MachineCPU{Total: 1200, Busy: 550, Niced: 130}
	if got, want := m1.Since(m0), "machine 75% busy (user time of niced processes 15%)"; got != want {
		t.Errorf("Since = %q, want %q", got, want)
	}
	if got := m0.Since(m0); got != "machine CPU not measured" {
		t.Errorf("Since with no ticks = %q", got)
	}
	if m := ReadMachineCPU(); m.Total > 0 && (m.Busy > m.Total || m.Niced > m.Busy) {
		t.Errorf("ReadMachineCPU = %+v: busy and niced must be parts of the total", m)
	}
}
