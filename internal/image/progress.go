package image

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progressBar draws one line, rewritten in place ("\r"), for one
// download. It is only used on a terminal (Store.Progress), so it needs no
// fallback for logs.
type progressBar struct {
	w           io.Writer
	label       string
	total, done int64
	last        time.Time
}

const barWidth = 30

func newProgressBar(w io.Writer, label string, total int64) *progressBar {
	b := &progressBar{w: w, label: label, total: total}
	b.draw()
	return b
}

// Write counts bytes going by (the bar sits in an io.MultiWriter).
func (b *progressBar) Write(p []byte) (int, error) {
	b.done += int64(len(p))
	if time.Since(b.last) >= 100*time.Millisecond {
		b.draw()
	}
	return len(p), nil
}

func (b *progressBar) draw() {
	b.last = time.Now()
	if b.total <= 0 {
		fmt.Fprintf(b.w, "\r%s  %s", b.label, formatBytes(b.done))
		return
	}
	done := min(b.done, b.total)
	fill := int(done * barWidth / b.total)
	fmt.Fprintf(b.w, "\r%s [%s%s] %s / %s", b.label, strings.Repeat("=", fill), strings.Repeat(" ", barWidth-fill),
		formatBytes(done), formatBytes(b.total))
}

// finish draws the final state and ends the line.
func (b *progressBar) finish() {
	b.draw()
	fmt.Fprintln(b.w)
}
