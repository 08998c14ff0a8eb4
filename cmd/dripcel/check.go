package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dripcel-go/dripcel"
)

// errCheckInterrupted ends a check cut short by Ctrl-C.
var errCheckInterrupted = errors.New("interrupted while checking the file; nothing was sent")

// check reads every row and reports the invalid and the repeated ones;
// nothing is sent. The invalid rows go to the rejects file here.
func (u *upload) check() error {
	r, closer, err := u.in.open(u.m)
	if err != nil {
		return err
	}
	defer func() { _ = closer.Close() }()
	if err := u.header(r); err != nil {
		return err
	}
	u.progress.start("checking", 0)
	defer u.progress.done()
	shown, last := 0, 0
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			if u.interrupted.Load() {
				return errCheckInterrupted // nothing sent yet: stop here
			}
			return u.checkFromRow(last)
		}
		if err != nil {
			return err
		}
		if u.interrupted.Load() {
			return errCheckInterrupted
		}
		last = rec.row
		if rec.row < u.flags.fromRow {
			continue
		}
		u.tally.read++
		u.progress.add(1)
		s, problems := u.sale(rec)
		switch {
		case len(problems) > 0:
			u.tally.add(invalid, rec.row)
			reason := strings.Join(problems, "; ")
			u.rejects.add(rec, reason)
			u.note(&shown, "%s: row %d: %s\n", u.in.name, rec.row, reason)
		case u.repeats.see(rec.row, s) > 0:
			first := u.repeats.repeated(rec.row)
			u.tally.addNote(repeated, rec.row, fmt.Sprintf(" (repeats %d)", first))
			if u.flags.quiet {
				break // the summary names them
			}
			u.note(&shown, "%s: row %d repeats row %d (same cell, campaign and soldAt date): Dripcel keeps only the first\n",
				u.in.name, rec.row, first)
		}
	}
}

// note prints one of the first rows found wrong while checking, and says
// once that the rest are not shown.
func (u *upload) note(shown *int, format string, args ...any) {
	switch {
	case *shown < shownRows:
		u.std.err.printf(format, args...)
	case *shown == shownRows:
		u.std.err.printf("%s: more rows not shown (the summary counts them; --rejects FILE gets the invalid ones)\n", u.in.name)
	}
	*shown++
}

// checkFromRow refuses a --from-row past the last row: a resume that reads
// nothing would otherwise end as a success.
func (u *upload) checkFromRow(last int) error {
	if u.flags.fromRow > 1 && u.tally.read == 0 {
		return usageError("--from-row %d is past the last row of %s (row %d)", u.flags.fromRow, u.in.name, last)
	}
	return nil
}

// header gives the rejects file the input's header.
func (u *upload) header(r rowReader) error {
	if h, ok := r.(headerOf); ok {
		return u.rejects.header(h.headerRow())
	}
	return nil
}

// sale converts a row, with the problems found while reading it first.
func (u *upload) sale(rec *record) (dripcel.Sale, []string) {
	s, problems := u.m.sale(&rec.vals)
	if rec.problem != "" {
		problems = append([]string{rec.problem}, problems...)
	}
	return s, problems
}
