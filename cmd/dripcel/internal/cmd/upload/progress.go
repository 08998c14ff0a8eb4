package upload

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports how many rows a phase ("checking", "uploading") has
// done. While uploading, a row is done once it is settled: Dripcel has
// answered for it, or it will not be sent.
type progress interface {
	start(phase string, total int)
	// add counts rows done (while checking).
	add(n int)
	// set says how many rows are done and the time left, reckoned from
	// Dripcel's request budget (while uploading).
	set(n int, left time.Duration)
	done()
}

// defaultProgressEvery is how often a progress line is written when
// standard error is not a terminal: often enough for a log to show an
// upload alive, rarely enough not to flood it.
const defaultProgressEvery = 10 * time.Second

// newProgress picks the reporter: nothing when quiet, a progress bar when
// w is a terminal, else a plain line every `every` (for logs of nightly
// jobs), whether or not rows moved: a line that stops coming says the
// upload is stuck, one that comes with the same count says it is waiting.
func newProgress(w *cli.Printer, quiet bool, every time.Duration) progress {
	switch {
	case quiet:
		return noProgress{}
	case isTerminal(w.Underlying()):
		return &barProgress{w: w}
	}
	return &lineProgress{w: w, every: every}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

type noProgress struct{}

func (noProgress) start(string, int)      {}
func (noProgress) add(int)                {}
func (noProgress) set(int, time.Duration) {}
func (noProgress) done()                  {}

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
		// The time left is Dripcel's budget's to tell (see set), not the
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

func (p *barProgress) set(n int, d time.Duration) {
	if p.bar != nil {
		_ = p.bar.Set(n)
		p.bar.Describe(fmt.Sprintf("%-9s %s", p.phase, left(d)))
	}
}

// left reads "about 3m20s left".
func left(d time.Duration) string {
	if d = d.Round(time.Second); d <= 0 {
		return ""
	}
	return "about " + d.String() + " left"
}

func (p *barProgress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}

// lineProgress writes "uploading: 12000 of 100000 rows (12%), 35 rows/s,
// about 3m left at Dripcel's request budget" when a phase starts, every
// `every` while it runs, and once when it ends.
type lineProgress struct {
	w     *cli.Printer
	every time.Duration

	mu       sync.Mutex
	phase    string
	total, n int
	began    time.Time
	left     time.Duration
	stop     chan struct{}
	stopped  sync.WaitGroup
}

func (p *lineProgress) start(phase string, total int) {
	p.mu.Lock()
	// p.left stays: set gives the time left before the phase starts.
	p.phase, p.total, p.n, p.began = phase, total, 0, time.Now()
	p.stop = make(chan struct{})
	p.mu.Unlock()
	if total > 0 {
		p.line("")
	}
	p.stopped.Add(1)
	go p.tick(p.stop)
}

// tick writes a line every p.every until stop is closed.
func (p *lineProgress) tick(stop <-chan struct{}) {
	defer p.stopped.Done()
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			p.line("")
		}
	}
}

func (p *lineProgress) add(n int) {
	p.mu.Lock()
	p.n += n
	p.mu.Unlock()
}

func (p *lineProgress) set(n int, d time.Duration) {
	p.mu.Lock()
	p.n, p.left = n, d
	p.mu.Unlock()
}

func (p *lineProgress) done() {
	p.mu.Lock()
	stop := p.stop
	p.stop = nil
	p.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	p.stopped.Wait()
	p.line(" done")
}

func (p *lineProgress) line(suffix string) {
	p.mu.Lock()
	defer p.mu.Unlock()
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
