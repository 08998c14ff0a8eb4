package upload

import (
	"fmt"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
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
	// eta gives the time left, reckoned from Dripcel's request budget.
	eta(d time.Duration)
	done()
}

// newProgress picks the reporter: nothing when quiet, a progress bar when
// w is a terminal, else a plain line every few seconds (for logs of
// nightly jobs).
func newProgress(w *cli.Printer, quiet bool) progress {
	switch {
	case quiet:
		return noProgress{}
	case isTerminal(w.Underlying()):
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
func (noProgress) eta(time.Duration) {}
func (noProgress) done()             {}

// barProgress draws a bar with the rows done, the rate and the time left;
// with no total (while checking) it shows a counter.
type barProgress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	phase string
}

func (p *barProgress) start(phase string, total int) {
	if total == 0 {
		total = -1
	}
	p.phase = phase
	p.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(fmt.Sprintf("%-9s", phase)),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionShowIts(),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		// The time left is Dripcel's budget's to tell (see eta), not the
		// rows a second seen so far: the first requests go at once.
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionClearOnFinish(),
	)
}

func (p *barProgress) add(n int) {
	if p.bar != nil {
		_ = p.bar.Add(n)
	}
}

func (p *barProgress) eta(d time.Duration) {
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("%-9s %s", p.phase, left(d)))
	}
}

// left reads "about 3m20s left".
func left(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return "about " + d.Round(time.Second).String() + " left"
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
	w            *cli.Printer
	every        time.Duration
	phase        string
	total, n     int
	began, shown time.Time
	left         time.Duration
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

// eta keeps the time left for the next line; the first is shown at once,
// so that a log says from the start how long the upload will take.
func (p *lineProgress) eta(d time.Duration) {
	first := p.n == 0 && p.left == 0
	p.left = d
	if first && d > 0 {
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
		eta := ""
		if suffix == "" && p.left > 0 {
			eta = ", " + left(p.left) + " at Dripcel's request budget"
		}
		p.w.Printf("%s: %d of %d rows (%d%%), %.0f rows/s%s%s\n",
			p.phase, p.n, p.total, p.n*100/p.total, rate, eta, suffix)
		return
	}
	p.w.Printf("%s: %d rows, %.0f rows/s%s\n", p.phase, p.n, rate, suffix)
}
