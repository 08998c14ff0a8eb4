package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports how many rows a phase ("checking", "uploading") has
// done.
type progress interface {
	start(phase string, total int)
	add(n int)
	done()
}

// newProgress picks the reporter: nothing when quiet, a progress bar when
// w is a terminal, else a plain line every few seconds (for logs of
// nightly jobs).
func newProgress(w *printer, quiet bool) progress {
	switch {
	case quiet:
		return noProgress{}
	case isTerminal(w.w):
		return &barProgress{w: w}
	}
	return &lineProgress{w: w, every: 2 * time.Second}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

type noProgress struct{}

func (noProgress) start(string, int) {}
func (noProgress) add(int)           {}
func (noProgress) done()             {}

// barProgress draws a bar with the rows done, the rate and the time left;
// with no total (while checking) it shows a counter.
type barProgress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (p *barProgress) start(phase string, total int) {
	if total == 0 {
		total = -1
	}
	p.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(fmt.Sprintf("%-9s", phase)),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionShowIts(),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
	)
}

func (p *barProgress) add(n int) {
	if p.bar != nil {
		_ = p.bar.Add(n)
	}
}

func (p *barProgress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}

// lineProgress writes "uploading: 12000 of 100000 rows (12%), 3500 rows/s"
// at most every few seconds, and once when the phase ends.
type lineProgress struct {
	w            *printer
	every        time.Duration
	phase        string
	total, n     int
	began, shown time.Time
}

func (p *lineProgress) start(phase string, total int) {
	now := time.Now()
	*p = lineProgress{w: p.w, every: p.every, phase: phase, total: total, began: now, shown: now}
}

func (p *lineProgress) add(n int) {
	p.n += n
	if now := time.Now(); now.Sub(p.shown) >= p.every {
		p.shown = now
		p.line("")
	}
}

func (p *lineProgress) done() {
	if p.phase != "" {
		p.line(" done")
		p.phase = ""
	}
}

func (p *lineProgress) line(suffix string) {
	elapsed := time.Since(p.began)
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(p.n) / s
	}
	if p.total > 0 {
		p.w.printf("%s: %d of %d rows (%d%%), %.0f rows/s%s\n",
			p.phase, p.n, p.total, p.n*100/p.total, rate, suffix)
		return
	}
	p.w.printf("%s: %d rows, %.0f rows/s%s\n", p.phase, p.n, rate, suffix)
}
