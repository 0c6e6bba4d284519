// Package migrations embeds the SQL schema, the one source of truth for it.
package migrations

import "embed"

// FS holds the golang-migrate NNNN_name.up.sql / .down.sql files.
//
//go:embed *.sql
var FS embed.FS
