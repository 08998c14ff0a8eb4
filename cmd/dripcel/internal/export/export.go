// Package export reads sales exports: the reading side of an upload. It
// knows file kinds (CSV, JSON, JSON lines, .xlsx, gzip), encodings (UTF-8
// with or without a byte order mark, UTF-16), columns, and the forms of
// dates, amounts and cells, and gives rows in: each row's sale, or the
// reasons it is not one. It knows nothing of sending; the upload command
// gives outcomes out. A Pass is the one door between them.
package export

import (
	"io"
	"time"

	"github.com/dripcel-go/dripcel"
)

// Options say how to read an export: the flags of the upload command that
// concern reading.
type Options struct {
	// Maps are --map entries: "cell=Phone", or several joined by commas.
	Maps []string
	// Campaign is --campaign: the campaign of the rows naming no
	// identifier (of every row with MatchBy campaign_id).
	Campaign string
	// MatchBy is --match-by: the identifier sent for rows naming more
	// than one ("" : such rows are invalid).
	MatchBy string
	// Region is --region: the region local cells are read in.
	Region string
	// Zone and DateFormat read soldAt; SoldAt is the time a blank soldAt
	// stands for ("": Now, to the second).
	Zone, DateFormat, SoldAt string
	Now                      time.Time
	// DecimalComma reads amounts such as 1.299,50.
	DecimalComma bool
}

// Export is a sales file and how to read it.
type Export struct {
	in *Input
	m  *Mapping
}

// NewMapping checks the options that need no file.
func NewMapping(o Options) (*Mapping, error) {
	m, err := newMapping(o.Maps, o.Campaign, o.Region)
	if err != nil {
		return nil, err
	}
	if m.matchBy, err = parseMatchBy(o.MatchBy); err != nil {
		return nil, err
	}
	if m.dates, err = NewDates(o.Zone, o.DateFormat); err != nil {
		return nil, err
	}
	if m.fill, err = m.dates.fill(o.SoldAt, o.Now); err != nil {
		return nil, err
	}
	m.amounts.DecimalComma = o.DecimalComma
	return m, nil
}

// New reads in as m says.
func New(in *Input, m *Mapping) *Export { return &Export{in: in, m: m} }

// Row is one row of an export with the sale read from it, or the problems
// that keep it from being one.
type Row struct {
	*Record
	Sale     dripcel.Sale
	Problems []string
	// Filled: the soldAt was blank and the run's time stands for it.
	Filled bool
	// By is the identifier the sale is matched to its campaign by (when
	// the row is valid); Several says the row names more than one and
	// --match-by did not settle which to send.
	By      Field
	Several bool
}

// Pass reads an export's rows once, from the beginning.
type Pass struct {
	r      rowReader
	closer io.Closer
	m      *Mapping
}

// Name is the export as messages name it: its path, or "stdin".
func (e *Export) Name() string { return e.in.Name }

// Fill is the time a blank soldAt stands for, and its zone for people.
func (e *Export) Fill() (time.Time, string) { return e.m.fill, e.m.dates.describeZone(e.m.fill) }

// MatchByGiven reports whether --match-by was given.
func (e *Export) MatchByGiven() bool { return e.m.matchBy != NumFields }

// Pass starts reading the rows.
func (e *Export) Pass() (*Pass, error) {
	r, closer, err := e.in.open(e.m)
	if err != nil {
		return nil, err
	}
	return &Pass{r: r, closer: closer, m: e.m}, nil
}

// Header is the export's header row and separator, for a rejects file in
// its form; ok is false for JSON, which has none.
func (p *Pass) Header() (h []string, comma rune, ok bool) {
	if hr, is := p.r.(headerOf); is {
		h, comma = hr.headerRow()
		return h, comma, true
	}
	return nil, 0, false
}

// Next reads the next row; io.EOF after the last.
func (p *Pass) Next() (*Row, error) {
	rec, err := p.r.Next()
	if err != nil {
		return nil, err
	}
	r := &Row{Record: rec}
	p.m.read(r)
	if rec.Problem != "" {
		r.Problems = append([]string{rec.Problem}, r.Problems...)
	}
	return r, nil
}

// Close ends the pass.
func (p *Pass) Close() { _ = p.closer.Close() }
