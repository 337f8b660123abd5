package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/safe-run/safe-run/internal/runtime"
)

// bashCompletion asks safe-run itself for candidates (urfave/cli's
// --generate-bash-completion), so it always matches the binary.
const bashCompletion = `_safe_run() {
  local cur words
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=$("${COMP_WORDS[@]:0:COMP_CWORD}" --generate-bash-completion 2>/dev/null)
  COMPREPLY=($(compgen -W "${words}" -- "${cur}"))
}
complete -o bashdefault -o default -F _safe_run safe-run
`

const zshCompletion = `#compdef safe-run
_safe_run() {
  local -a opts
  opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  _describe 'values' opts
}
compdef _safe_run safe-run
`

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish)",
		ArgsUsage: "bash|zsh|fish",
		Description: `Examples:
   source <(safe-run completion bash)
   safe-run completion fish > ~/.config/fish/completions/safe-run.fish`,
		Action: func(c *cli.Context) error {
			switch c.Args().First() {
			case "bash":
				fmt.Print(bashCompletion)
			case "zsh":
				fmt.Print(zshCompletion)
			case "fish":
				s, err := c.App.ToFishCompletion()
				if err != nil {
					return err
				}
				fmt.Print(s)
			default:
				return runtime.ToolError("completion: give one of bash, zsh, fish")
			}
			return nil
		},
	}
}
