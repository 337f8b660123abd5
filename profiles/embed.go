// Package profiles holds the profiles shipped inside the safe-run binary.
// A file of the same name in a profile directory overrides one of these
// (internal/profile's search path); docs/profiles.md documents the format.
package profiles

import "embed"

// FS holds every shipped profile as NAME.yaml.
//
//go:embed *.yaml
var FS embed.FS
