package main

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/safe-run/safe-run/internal/bundle"
	"github.com/safe-run/safe-run/internal/profile"
	"github.com/safe-run/safe-run/profiles"
)

var globalFlags = []cli.Flag{
	&cli.StringFlag{Name: "runtime", Usage: "OCI runtime binary (path or name in PATH)", Value: "runc", EnvVars: []string{"SAFE_RUN_RUNTIME"}, Category: "Runtime"},
	&cli.StringFlag{Name: "state-dir", Usage: "state root (default /run/safe-run as root, $XDG_RUNTIME_DIR/safe-run otherwise)", EnvVars: []string{"SAFE_RUN_STATE_DIR"}, Category: "Runtime"},
	&cli.StringSliceFlag{Name: "profile-dir", Usage: "search `DIR` for profiles first (repeatable; SAFE_RUN_PROFILE_PATH is colon-separated)", Category: "Profiles"},
	&cli.StringFlag{Name: "log-level", Usage: "error, warn, info or debug", Value: "warn", EnvVars: []string{"SAFE_RUN_LOG_LEVEL"}, Category: "Output"},
}

var jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print machine-readable JSON"}

// newFinder builds the profile search path from flags and the environment.
func newFinder(c *cli.Context) *profile.Finder {
	configHome := os.Getenv("XDG_CONFIG_HOME")
	if configHome == "" {
		if home, err := os.UserHomeDir(); err == nil {
			configHome = filepath.Join(home, ".config")
		}
	}
	dirs := profile.SearchDirs(c.StringSlice("profile-dir"), os.Getenv("SAFE_RUN_PROFILE_PATH"), configHome)
	return &profile.Finder{Dirs: dirs, Embedded: profiles.FS}
}

// stateDir is the state root chosen by flag or default.
func stateDir(c *cli.Context) string {
	if d := c.String("state-dir"); d != "" {
		return d
	}
	return bundle.StateRoot(os.Geteuid(), os.Getenv("XDG_RUNTIME_DIR"))
}

// logLevel reports whether messages at level should be printed.
func logEnabled(c *cli.Context, level string) bool {
	order := map[string]int{"error": 0, "warn": 1, "info": 2, "debug": 3}
	want, ok := order[c.String("log-level")]
	if !ok {
		want = 1
	}
	return order[level] <= want
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
