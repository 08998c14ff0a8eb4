package dripcel

// AbandonReporter stops r as a crash would (no draining; the spool file is
// released as the operating system would release it), for tests of
// recovery.
func AbandonReporter(r *Reporter) { r.abandon() }
