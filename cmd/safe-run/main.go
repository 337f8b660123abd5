// Command safe-run runs programs in locked-down Linux containers: a
// profile becomes a hardened OCI runtime spec that runc runs.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/safe-run/safe-run/internal/runtime"
)

func main() {
	os.Exit(run(os.Args))
}

// run is main without os.Exit, so deferred cleanups in commands always run
// before the process ends.
func run(args []string) int {
	rawArgs = args
	app := newApp()
	err := app.Run(args)
	if err == nil {
		return 0
	}
	var exit *runtime.ExitError
	if errors.As(err, &exit) {
		if exit.Msg != "" {
			fmt.Fprintln(os.Stderr, "safe-run: "+exit.Msg)
		}
		return exit.Code
	}
	var coder cli.ExitCoder
	if errors.As(err, &coder) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, "safe-run: "+msg)
		}
		return coder.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "safe-run: "+err.Error())
	return runtime.ExitToolError
}
