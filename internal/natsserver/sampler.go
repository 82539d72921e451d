package natsserver

import (
	"strings"
	_ "unsafe" // for go:linkname

	// The sampler lives here; importing it keeps the link below honest
	// even if the server package stopped importing it.
	_ "github.com/nats-io/nats-server/v2/server/pse"
)

// nats-server's pse package starts a CPU sampler from its init: every
// second, for the life of the process, a timer goroutine re-reads
// /proc/<pid>/stat so that an embedded server's /varz can show CPU%. Any
// binary that can embed the server pays for it, even a realtime node that
// only talks to an external NATS. On an idle node that sampler was half
// of the node's own CPU, because each tick wakes threads that would
// otherwise sleep (docs/BENCHMARKS.md). The sampler gives up for good
// the first time its read fails, and the path is the only handle on it.
//
//go:linkname pseStatFile github.com/nats-io/nats-server/v2/server/pse.procStatFile
var pseStatFile string

// StopProcessSampler makes nats-server's process sampler stop within a
// second. Call it first thing in main, and only in a process that will
// not run an embedded server (whose /varz would then show a stale CPU%).
//
// The replacement path has the same length as the original and differs
// in its last byte, so even a sampler read racing this write sees a
// well-formed string; the write happens before the sampler's next tick,
// which is a second after init.
func StopProcessSampler() {
	if p := pseStatFile; strings.HasSuffix(p, "/stat") {
		pseStatFile = p[:len(p)-1] + "_"
	}
}
