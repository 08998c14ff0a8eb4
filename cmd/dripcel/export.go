package main

import (
	"io"
	"time"

	"github.com/dripcel-go/dripcel"
)

// export is a sales file as read: the reading side of an upload (file
// kinds, encodings, columns, date and amount forms). It gives rows in and
// knows nothing of sending; the upload (check and send passes, outcomes,
// summary, rejects, resume) gives outcomes out. A pass is the one door.
type export struct {
	in *input
	m  *mapping
}

// row is one row of an export with the sale read from it, or the problems
// that keep it from being one.
type row struct {
	*record
	sale     dripcel.Sale
	problems []string
	// filled: the soldAt was blank and the run's time stands for it.
	filled bool
	// by is the identifier the sale is matched to its campaign by (when
	// the row is valid); several says the row names more than one and
	// --match-by did not settle which to send.
	by      field
	several bool
}

// pass reads an export's rows once, from the beginning.
type pass struct {
	r      rowReader
	closer io.Closer
	m      *mapping
}

// name is the export as messages name it: its path, or "stdin".
func (e *export) name() string { return e.in.name }

// fill is the time a blank soldAt stands for, and its zone for people.
func (e *export) fill() (time.Time, string) { return e.m.fill, e.m.dates.describeZone(e.m.fill) }

// pass starts reading the rows.
func (e *export) pass() (*pass, error) {
	r, closer, err := e.in.open(e.m)
	if err != nil {
		return nil, err
	}
	return &pass{r: r, closer: closer, m: e.m}, nil
}

// header is the export's header row and separator, for a rejects file in
// its form; ok is false for JSON, which has none.
func (p *pass) header() (h []string, comma rune, ok bool) {
	if hr, is := p.r.(headerOf); is {
		h, comma = hr.headerRow()
		return h, comma, true
	}
	return nil, 0, false
}

// next reads the next row; io.EOF after the last.
func (p *pass) next() (*row, error) {
	rec, err := p.r.Next()
	if err != nil {
		return nil, err
	}
	r := &row{record: rec}
	p.m.read(r)
	if rec.problem != "" {
		r.problems = append([]string{rec.problem}, r.problems...)
	}
	return r, nil
}

// close ends the pass.
func (p *pass) close() { _ = p.closer.Close() }
