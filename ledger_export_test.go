package dripcel

import "time"

// SetLedgerClock makes l read the time from now, for tests of expiry.
func SetLedgerClock(l *FileLedger, now func() time.Time) { l.now = now }
