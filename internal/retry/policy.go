// Package retry decides which failed attempts are tried again and how long
// to wait before each, in the shapes go-retryablehttp asks for.
package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter is the longest Retry-After the client waits out by itself.
// A longer one fails the call at once, so the caller can reschedule instead
// of holding a checkout request open for minutes.
const MaxRetryAfter = 60 * time.Second

// Policy is the retry policy of one client.
type Policy struct {
	MinWait, MaxWait time.Duration
	// Now returns the current time; it reads HTTP-date Retry-After values.
	Now func() time.Time
	// Jitter returns a number in [0, 1); rand.Float64 when nil.
	Jitter func() float64
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

// CheckRetry is a retryablehttp.CheckRetry.
//
// A final answer (any status that is not retried) stands even when ctx ended
// as it arrived: a 200 means Dripcel took the sale, and reporting the
// context's error instead would make the caller send it again.
//
// A Retry-After the context's deadline cannot wait out stops the retries at
// once, rather than sleeping until the deadline to fail anyway; the caller
// sees the rate-limit answer together with the deadline.
func (p Policy) CheckRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return transportRetryable(err), nil
	}
	if !Status(resp.StatusCode) {
		return false, nil
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if d, ok := p.RetryAfter(resp); ok && (d > MaxRetryAfter || PastDeadline(ctx, d)) {
		return false, nil
	}
	return true, nil
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

// ParseRetryAfter reads a Retry-After value relative to now.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
