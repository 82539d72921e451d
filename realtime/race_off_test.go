//go:build !race

package realtime

// raceEnabled: see race_on_test.go.
const raceEnabled = false
