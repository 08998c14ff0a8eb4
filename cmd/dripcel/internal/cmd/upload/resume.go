package upload

import (
	"fmt"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/export"
)

// printStop explains rows that were never read or never delivered, and
// names the flags a rerun should add to go on from there.
func (u *upload) printStop() {
	switch {
	case u.stopped:
		from := u.resume
		if from == 0 {
			from = u.lastRow + 1
		}
		u.std.Out.Printf("stopped after row %d: any rows after it were not read or sent; "+
			"to send the rest, run the same command again with %s\n", u.lastRow, u.resumeFlags(from))
	case u.resume != 0:
		// Every row was read, but the last request failed or was cut short.
		u.std.Out.Printf("row %d and the rows after it were not all delivered; "+
			"to send them, run the same command again with %s\n", u.resume, u.resumeFlags(u.resume))
	}
}

// resumeFlags are the flags that make a rerun go on from row from: with
// the time blank soldAt cells stood for, so the rows sent again are the
// same sales on the same date, which Dripcel then records once.
func (u *upload) resumeFlags(from int) string {
	flags := fmt.Sprintf("--from-row %d", from)
	if u.filled > 0 || u.flags.soldAt != "" {
		at, _ := u.ex.Fill()
		flags += fmt.Sprintf(" --sold-at %q", export.FormatSoldAt(at))
	}
	return flags
}

// reject counts a row that was not recorded by this run, and writes it to
// the rejects file if it needs action: a row Dripcel has already does not.
func (u *upload) reject(rec *export.Record, o outcome, reason string) {
	if o == notDelivered && (u.resume == 0 || rec.Row < u.resume) {
		u.resume = rec.Row
	}
	u.tally.add(o, rec.Row)
	u.tally.addReason(o, reason)
	if o.needsAction() {
		u.rejects.add(rec, reason)
	}
}
