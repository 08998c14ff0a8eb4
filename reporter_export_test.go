package dripcel

import "time"

// AbandonReporter stops r as a crash would (no draining; the spool file is
// released as the operating system would release it), for tests of
// recovery.
func AbandonReporter(r *Reporter) { r.abandon() }

// StallSpool makes r's spool run hook before writing each group of sales,
// as a disk that stalls would.
func StallSpool(r *Reporter, hook func()) { r.queue.(*spoolQueue).beforeAppend = hook }

// EncodeSpoolSale is s as the Reporter writes it to its spool, for tests
// that write spools the way an earlier version did.
func EncodeSpoolSale(s Sale) ([]byte, error) { return encodeSale(&s, time.Time{}) }

// ReporterBackoff is the wait r takes before sending again after failures
// failures in a row, the last with Retry-After retryAfter.
func ReporterBackoff(r *Reporter, failures int, retryAfter time.Duration) time.Duration {
	return r.backoff(failures, retryAfter)
}

// MaxReporterRetryAfter is the longest Retry-After a Reporter waits out.
const MaxReporterRetryAfter = maxReporterRetryAfter
