package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// errCheckInterrupted ends a check cut short by Ctrl-C.
var errCheckInterrupted = errors.New("interrupted while checking the file; nothing was sent")

// check reads every row and reports the invalid and the repeated ones;
// nothing is sent. The invalid rows go to the rejects file here.
func (u *upload) check() error {
	p, err := u.ex.pass()
	if err != nil {
		return err
	}
	defer p.close()
	if h, comma, ok := p.header(); ok {
		if err := u.rejects.header(h, comma); err != nil {
			return err
		}
	}
	u.progress.start("checking", 0)
	defer u.progress.done()
	shown, last := 0, 0
	for {
		r, err := p.next()
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
		last = r.row
		if r.row < u.flags.fromRow {
			continue
		}
		u.tally.read++
		u.progress.add(1)
		if r.filled {
			u.filled++
		}
		if len(r.problems) > 0 {
			u.tally.add(invalid, r.row)
			if r.several {
				u.several++
			}
			reason := strings.Join(r.problems, "; ")
			u.rejects.add(r.record, reason)
			u.note(&shown, "%s: row %d: %s\n", u.ex.name(), r.row, reason)
			continue
		}
		u.tally.validBy[r.by]++
		if u.repeats.see(r.row, r.sale) > 0 {
			first := u.repeats.repeated(r.row)
			u.tally.addNote(repeated, r.row, fmt.Sprintf(" (repeats %d)", first))
			if u.flags.quiet {
				continue // the summary names them
			}
			same := "campaign"
			if r.by != fCampaign {
				same = r.by.String()
			}
			u.note(&shown, "%s: row %d repeats row %d (same cell, %s and soldAt date): Dripcel keeps only the first\n",
				u.ex.name(), r.row, first, same)
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
		u.std.err.printf("%s: more rows not shown (the summary counts them; --rejects FILE gets the invalid ones)\n", u.ex.name())
	}
	*shown++
}

// checkFromRow refuses a --from-row past the last row: a resume that reads
// nothing would otherwise end as a success.
func (u *upload) checkFromRow(last int) error {
	if u.flags.fromRow > 1 && u.tally.read == 0 {
		return usageError("--from-row %d is past the last row of %s (row %d)", u.flags.fromRow, u.ex.name(), last)
	}
	return nil
}
