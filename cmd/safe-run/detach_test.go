package main

import (
	"slices"
	"testing"
)

func TestInitArgs(t *testing.T) {
	args := []string{"/dev/.safe-run-init", "--check", "caps=0x0", "--check=nnp=1", "--", "sh", "-c", "--check x"}
	if got := programArgs(args); !slices.Equal(got, []string{"sh", "-c", "--check x"}) {
		t.Errorf("programArgs = %q", got)
	}
	if got := initChecks(args); !slices.Equal(got, []string{"caps=0x0", "nnp=1"}) {
		t.Errorf("initChecks = %q", got)
	}
	if got := shortCommand([]string{"sh", "-c", "echo hi; exit"}); got != `"sh -c 'echo hi; exit'"` {
		t.Errorf("shortCommand = %s", got)
	}
	if got := shortCommand([]string{"sh", "-c", "echo a very long command line indeed"}); len([]rune(got)) != 32 {
		t.Errorf("shortCommand not cut at 30: %s", got)
	}
}
