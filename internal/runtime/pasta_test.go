package runtime

import (
	"os"
	"strings"
	"testing"
)

func TestPastaArgs(t *testing.T) {
	p := &Pasta{Path: "/usr/bin/pasta", Args: []string{"--config-net", "-t", "none"}}
	got := strings.Join(p.PastaArgs("/b/pasta.log"), " ")
	if want := "/usr/bin/pasta --config-net -t none --log-file /b/pasta.log --netns /proc/self/fd/3 --netns-only"; got != want {
		t.Errorf("rootful: %q, want %q", got, want)
	}
	p.JoinUserNS = true
	got = strings.Join(p.PastaArgs("/b/pasta.log"), " ")
	if !strings.HasSuffix(got, "--netns /proc/self/fd/3 --userns /proc/self/fd/4") {
		t.Errorf("rootless: %q", got)
	}
}

func TestPastaMessages(t *testing.T) {
	b := &limitedBuffer{max: 64}
	b.Write([]byte("Failed to send 47 bytes to syslog\nFailed to bind any port for '-t 127.0.0.1/80:80', exiting\n"))
	b.Write([]byte(strings.Repeat("x", 100)))
	if got := b.lines(); !strings.HasPrefix(got, "Failed to bind any port") || len(b.buf.String()) != 64 {
		t.Errorf("lines = %q", got)
	}
	if got, err := parentOf(os.Getpid()); err != nil || got != os.Getppid() {
		t.Errorf("parentOf = %d, %v; want %d", got, err, os.Getppid())
	}
}
