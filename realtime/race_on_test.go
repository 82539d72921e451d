//go:build race

package realtime

// raceEnabled: the race detector makes sync.Pool drop a quarter of what
// is put back, so a pooled path allocates now and then.
const raceEnabled = true
