// Package migrations holds Gavel's versioned SQL schema, one folder per
// dialect, applied by goose at start-up and by `gavel migrate`.
package migrations

import "embed"

// FS holds postgres/*.sql and sqlite/*.sql.
//
//go:embed postgres/*.sql sqlite/*.sql
var FS embed.FS
