package upload

import (
	"errors"
	"fmt"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/export"
	"io"
	"strings"
)

// errCheckInterrupted ends a check cut short by Ctrl-C.
var errCheckInterrupted = errors.New("interrupted while checking the file; nothing was sent")

// check reads every row and reports the invalid and the repeated ones;
// nothing is sent. The invalid rows go to the rejects file here.
func (u *upload) check() error {
	p, err := u.ex.Pass()
	if err != nil {
		return err
	}
	defer p.Close()
	if h, comma, ok := p.Header(); ok {
		if err := u.rejects.header(h, comma); err != nil {
			return err
		}
	}
	u.progress.start("checking", 0)
	defer u.progress.done()
	shown, last := 0, 0
	for {
		r, err := p.Next()
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
		last = r.Row
		if r.Row < u.flags.fromRow {
			// Not checked or sent again, but seen: a row from here on that
			// repeats it is the same sale, as in the run being resumed.
			if len(r.Problems) == 0 {
				u.repeats.see(r.Row, r.Sale)
			}
			continue
		}
		u.tally.read++
		u.progress.add(1)
		if r.Filled {
			u.filled++
		}
		if len(r.Problems) > 0 {
			u.tally.add(invalid, r.Row)
			u.invalidRows[r.Row] = true
			if r.Several {
				u.several++
			}
			reason := strings.Join(r.Problems, "; ")
			u.rejects.add(r.Record, reason)
			u.note(&shown, "%s: row %d: %s\n", u.ex.Name(), r.Row, reason)
			continue
		}
		u.tally.validBy[r.By]++
		if u.repeats.see(r.Row, r.Sale) > 0 {
			first := u.repeats.repeated(r.Row)
			u.tally.addNote(repeated, r.Row, fmt.Sprintf(" (repeats %d)", first))
			if u.flags.quiet {
				continue // the summary names them
			}
			same := "campaign"
			if r.By != export.CampaignID {
				same = r.By.String()
			}
			u.note(&shown, "%s: row %d repeats row %d (same cell, %s and soldAt date): Dripcel keeps only the first\n",
				u.ex.Name(), r.Row, first, same)
		}
	}
}

// changedRow says how row r of a later pass differs from what the check
// pass found, or returns nil: a row valid then and invalid now (or the
// reverse) means the file changed, and the sales handed to the library
// would no longer be the rows the summary names.
func (u *upload) changedRow(r *export.Row) error {
	switch now := len(r.Problems) > 0; {
	case now && !u.invalidRows[r.Row]:
		return fmt.Errorf("%s: row %d was valid when checked and is not now (%s)", u.ex.Name(), r.Row, strings.Join(r.Problems, "; "))
	case !now && u.invalidRows[r.Row]:
		return fmt.Errorf("%s: row %d was invalid when checked and is valid now", u.ex.Name(), r.Row)
	}
	return nil
}

// note prints one of the first rows found wrong while checking, and says
// once that the rest are not shown.
func (u *upload) note(shown *int, format string, args ...any) {
	switch {
	case *shown < shownRows:
		u.std.Err.Printf(format, args...)
	case *shown == shownRows:
		u.std.Err.Printf("%s: more rows not shown (the summary counts them; --rejects FILE gets the invalid ones)\n", u.ex.Name())
	}
	*shown++
}

// checkFromRow refuses a --from-row past the last row: a resume that reads
// nothing would otherwise end as a success.
func (u *upload) checkFromRow(last int) error {
	if u.flags.fromRow > 1 && u.tally.read == 0 {
		return cli.Usage("--from-row %d is past the last row of %s (row %d)", u.flags.fromRow, u.ex.Name(), last)
	}
	return nil
}
