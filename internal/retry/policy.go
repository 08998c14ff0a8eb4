// Package retry decides which failed attempts are tried again and how long
// to wait before each, in the shapes go-retryablehttp asks for.
package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter is the longest Retry-After the client waits out by itself,
// unless the budget's window is longer. A longer one fails the call at once,
// so the caller can reschedule instead of holding a checkout request open
// for minutes.
const MaxRetryAfter = 60 * time.Second

// Policy is the retry policy of one client.
type Policy struct {
	MinWait, MaxWait time.Duration
	// MaxRetries bounds the retries after faults (network errors, 5xx) in
	// one call.
	MaxRetries int
	// MaxLimited bounds the 429 answers in a row that one call waits out.
	// They do not spend MaxRetries: a 429 says the budget is spent, not
	// that anything is wrong.
	MaxLimited int
	// Window is the rate budget's window: after a 429 without a usable
	// Retry-After, the budget is next free at the latest one window later.
	Window time.Duration
	// Now returns the current time; it reads HTTP-date Retry-After values.
	Now func() time.Time
	// Jitter returns a number in [0, 1); rand.Float64 when nil.
	Jitter func() float64
}

// Tally is what one call has spent so far. The caller keeps one per call
// and hands the same one to every Decide.
type Tally struct {
	// Faults is how many retries were spent on faults.
	Faults int
	// Limited is how many 429 answers came in a row.
	Limited int
	// Wait is the backoff Decide chose before the next attempt, after a
	// fault. The wait after a 429 is not here: it holds back every request
	// of the budget, so the caller keeps it with its pacing.
	Wait time.Duration
	// PastDeadline is set when Decide stopped because the wait asked for
	// would end after the context's deadline.
	PastDeadline bool
}

// MaxAttempts bounds the requests of one call under p: a 429 streak may
// follow each fault.
func (p Policy) MaxAttempts() int {
	return (p.MaxRetries + 1) * (p.MaxLimited + 1)
}

// Status reports whether a response with this status may be tried again:
// rate limiting and the server errors that mean "not now". 501 means "never".
func Status(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// Decide is a retryablehttp.CheckRetry for the call whose tally is t: it
// says whether to try again, and records in t what the retry spends.
//
// A final answer (any status that is not retried) stands even when ctx ended
// as it arrived: a 200 means Dripcel took the sale, and reporting the
// context's error instead would make the caller send it again.
//
// A wait the context's deadline cannot cover stops the retries at once,
// rather than sleeping until the deadline to fail anyway; the caller sees
// the answer together with the deadline.
func (p Policy) Decide(ctx context.Context, t *Tally, resp *http.Response, err error) (bool, error) {
	t.Wait = 0
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return transportRetryable(err) && p.fault(t, -1), nil
	}
	if !Status(resp.StatusCode) {
		return false, nil
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	d, ok := p.ResumeAfter(resp)
	if ok && d > max(MaxRetryAfter, p.Window) {
		return false, nil
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		if t.Limited >= p.MaxLimited {
			return false, nil
		}
		if ok && PastDeadline(ctx, d) {
			t.PastDeadline = true
			return false, nil
		}
		t.Limited++
		return true, nil
	}
	if !ok {
		return p.fault(t, -1), nil
	}
	if t.Faults < p.MaxRetries && PastDeadline(ctx, d) {
		t.PastDeadline = true
		return false, nil
	}
	return p.fault(t, d), nil
}

// fault spends one retry on a fault, if any is left, and sets the wait
// before it: wait, or the backoff when wait is negative.
func (p Policy) fault(t *Tally, wait time.Duration) bool {
	if t.Faults >= p.MaxRetries {
		return false
	}
	t.Faults++
	t.Limited = 0
	if wait < 0 {
		wait = p.Backoff(p.MinWait, p.MaxWait, t.Faults-1, nil)
	}
	t.Wait = wait
	return true
}

// Fault counts a failed attempt that is tried again like a 5xx without
// Retry-After (an answer that is not the server's own, say), and reports
// whether the retries allow another; t.Wait is then its backoff.
func (p Policy) Fault(t *Tally) bool {
	t.Wait = 0
	return p.fault(t, -1)
}

// NoWait is a retryablehttp.Backoff that never waits: the waits Decide
// chooses are taken before the retry, where the call's context is at hand.
func NoWait(_, _ time.Duration, _ int, _ *http.Response) time.Duration { return 0 }

// Sleep waits d, or until ctx ends, whichever comes first, and returns
// ctx's error in the second case. It is how every wait of the client and
// its limiters gives way to the caller's context.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// PastDeadline reports whether waiting d would take the call past ctx's
// deadline.
func PastDeadline(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return ok && d > 0 && time.Until(deadline) < d
}

// transportRetryable reports whether a failed round trip may succeed when
// tried again. Certificate problems and malformed requests never will.
func transportRetryable(err error) bool {
	var (
		verr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		cerr x509.CertificateInvalidError
	)
	if errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &cerr) {
		return false
	}
	msg := err.Error()
	for _, s := range []string{"stopped after", "unsupported protocol scheme", "invalid header", "net/http: invalid"} {
		if strings.Contains(msg, s) {
			return false
		}
	}
	return true
}

// Backoff is a retryablehttp.Backoff. A usable Retry-After on a 429 or 503
// is obeyed even above MaxWait (CheckRetry has already refused ones above
// MaxRetryAfter). Otherwise the wait grows exponentially from MinWait, capped
// at MaxWait, with random jitter so that many clients failing together do not
// come back together.
func (p Policy) Backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := p.RetryAfter(resp); ok {
			return d
		}
	}
	ceiling := minWait
	for i := 0; i < attempt && ceiling < maxWait; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, maxWait)
	if ceiling <= minWait {
		return ceiling
	}
	jitter := rand.Float64
	if p.Jitter != nil {
		jitter = p.Jitter
	}
	return minWait + time.Duration(jitter()*float64(ceiling-minWait))
}

// RetryAfter reads the Retry-After header of a 429 or 503 response, in
// seconds or as an HTTP date. ok is false when there is none or it cannot be
// read, in which case the normal backoff applies.
func (p Policy) RetryAfter(resp *http.Response) (d time.Duration, ok bool) {
	if resp == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return 0, false
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	return ParseRetryAfter(resp.Header.Get("Retry-After"), now())
}

// ResumeAfter is how long to hold off after resp: its Retry-After on a
// 429 or 503, or on a 429 without a usable one, the budget's window (the
// spent budget is free again by then whatever kind of window the server
// counts). ok is false when resp asks for no wait of its own.
func (p Policy) ResumeAfter(resp *http.Response) (d time.Duration, ok bool) {
	if d, ok := p.RetryAfter(resp); ok {
		return d, true
	}
	if resp != nil && resp.StatusCode == http.StatusTooManyRequests && p.Window > 0 {
		return p.Window, true
	}
	return 0, false
}

// ParseRetryAfter reads a Retry-After value relative to now, as the server
// gave it: it is reported to the caller (APIError.RetryAfter), who may keep
// to it, so it is not capped here. Each wait the library takes caps it
// itself (Decide, the Reporter). The one guard is against overflow: a
// value past the longest time.Duration, about 292 years, in seconds or as a
// date, is that longest Duration.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	// ParseInt reports a number too large for int64 as ErrRange, with the
	// largest value of its sign: past the longest Duration too.
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(math.MaxInt64/time.Second) {
			return math.MaxInt64, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	// Sub saturates at the longest Duration.
	return max(t.Sub(now), 0), true
}
