// Package cli is what every command of dripcel shares: the streams it
// writes to, its exit codes and the wording of its messages. It knows no
// command, so that any of them can import it.
package cli

import (
	"fmt"
	"io"
	"strconv"
	"sync"
)

// Printer writes messages and keeps the first write error, so that output
// to a closed pipe or a full disk is noticed once rather than at each line.
// It is safe for concurrent use: the Ctrl-C handler writes to standard error
// while the upload writes its progress there.
type Printer struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

// NewPrinter writes to w.
func NewPrinter(w io.Writer) *Printer { return &Printer{w: w} }

// Printf writes a formatted message.
func (p *Printer) Printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// Println writes its arguments and a line end.
func (p *Printer) Println(args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		_, p.err = fmt.Fprintln(p.w, args...)
	}
}

// Write makes a Printer an io.Writer for libraries that print.
func (p *Printer) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return 0, p.err
	}
	var n int
	n, p.err = p.w.Write(b)
	return n, p.err
}

// Failed is the first write error, or nil.
func (p *Printer) Failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Underlying is the writer printed to, to tell whether it is a terminal.
func (p *Printer) Underlying() io.Writer { return p.w }

// Streams are the standard streams a command uses.
type Streams struct {
	In       io.Reader
	Out, Err *Printer
}

// Plural reads "1 row" or "3 rows".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
