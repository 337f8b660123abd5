package tests

import "testing"

// TestExitCodes checks that safe-run exits with the program's status, the
// shell's 126/127/128+N conventions, and 125 for its own failures.
func TestExitCodes(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string // must appear in stderr when set
	}{
		{"program_status_passed_through", []string{"default", "--", "sh", "-c", "exit 7"}, 7, ""},
		{"killed_by_SIGTERM_is_143", []string{"default", "--", "sh", "-c", "kill -TERM $$"}, 143, ""},
		{"command_not_found_is_127", []string{"default", "--", "no-such-command-e2e"}, 127, "command not found"},
		{"not_executable_is_126", []string{"default", "--", "/etc/passwd"}, 126, "cannot execute"},
		{"bad_memory_flag_is_125", []string{"run", "--memory", "12x", "--", "true"}, 125, "--memory"},
		{"unknown_profile_shorthand_is_125", []string{"no-such-profile-e2e", "--", "true"}, 125, "not found"},
		{"unknown_profile_run_is_125", []string{"run", "--profile", "no-such-profile-e2e", "--", "true"}, 125, "not found"},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					e := newEnv(t, m)
					r := e.run(c.args...)
					wantCode(t, r, c.code)
					if c.stderr != "" {
						wantContains(t, "stderr", r.stderr, c.stderr)
					}
				})
			}
		})
	}
}
