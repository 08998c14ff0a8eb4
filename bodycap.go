package dripcel

import (
	"sync"
)

// bodyCap is the largest upload body a client sends. It starts at
// WithMaxBatchBytes (DefaultMaxBatchBytes, Express's 102,400) and learns
// Dripcel's real limit, which Dripcel does not document, from its answers.
//
// Every body Dripcel answered proves its size fits; a 413 bounds the limit
// from above. Between the largest size that fitted and the smallest refused
// the cap searches by bisection, so that requests stay as full as the limit
// allows at the cost of a few 413s.
//
// A 413 is also the answer most easily given by mistake (a proxy's hiccup,
// a limit lowered for an hour), and every request sent below the limit
// costs budget for as long as it lasts: a client that once met a 413 on a
// 2-sale body and believed it would send one sale per request for life. So
// the cap is never lowered below the largest body Dripcel has accepted
// (unless 413s for bodies no larger than that keep coming: the limit has
// really fallen), and after a run of accepted requests the cap was
// limiting, it probes upward: the next request is cut at the configured
// maximum. The run needed is 2 after a single 413, and doubles with each
// further 413 that agreed with the search and with each probe refused (a
// probe refused costs about a request and a half), up to maxProbeAfter: a
// lone 413 is doubted at once, while against a limit really below the
// maximum probing soon costs under a percent of the requests
// (BenchmarkBodyCapRecovery measures both cases).
type bodyCap struct {
	mu       sync.Mutex
	max      int // the configured maximum
	cap      int
	fits     int // the largest body Dripcel answered; 0 before any
	tooLarge int // the smallest body refused with 413 since the last probe that fitted; 0 for none

	run        int // bodies answered in a row with the cap limiting them
	probeAfter int // the run that starts a probe
	probeFrom  int // the cap before the probe in flight; 0 when not probing
	contrary   int // 413s in a row for bodies no larger than fits
	refusals   int // 413s, probes aside, since the last probe that fitted
}

// closeEnough is when the search stops: the gap between what fits and what
// is too large is under 1/closeEnough of the latter.
const closeEnough = 50

// Probing: the first probe comes after firstProbeAfter limited bodies
// accepted; each refused probe doubles the wait, up to maxProbeAfter.
const (
	firstProbeAfter = 2
	maxProbeAfter   = 256
)

// contraryLimit is how many 413s in a row for bodies no larger than one
// accepted make the client believe the limit has fallen and forget what
// fitted.
const contraryLimit = 3

func newBodyCap(limit int) *bodyCap {
	return &bodyCap{max: limit, cap: limit, probeAfter: firstProbeAfter}
}

// limit returns the current cap.
func (c *bodyCap) limit() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cap
}

// learn takes Dripcel's answer to a body of size bytes holding n sales;
// full says the body was closed because the next sale would not fit.
func (c *bodyCap) learn(size, n int, full bool, err error) {
	switch {
	case tooLarge(err):
		c.mu.Lock()
		defer c.mu.Unlock()
		c.refused(size)
	case err == nil || answered(err):
		c.mu.Lock()
		defer c.mu.Unlock()
		// The cap limited this body if it was cut for the next sale, or
		// if one more sale of its average size would not have fitted.
		limited := full || size+size/max(n, 1) > c.cap
		c.accepted(size, limited)
	}
}

// refused takes a 413 for a body of size bytes. Caller holds mu.
func (c *bodyCap) refused(size int) {
	c.run = 0
	if c.probeFrom > 0 {
		// The probe was too large: back to the cap before it, and wait
		// longer before the next.
		c.cap, c.probeFrom = c.probeFrom, 0
		c.probeAfter = min(c.probeAfter*2, maxProbeAfter)
		if c.tooLarge == 0 || size < c.tooLarge {
			c.tooLarge = size
		}
		return
	}
	if size <= c.fits {
		// Dripcel took a body this large before: a hiccup, or the limit
		// has fallen. Only a run of them says the latter.
		if c.contrary++; c.contrary < contraryLimit {
			return
		}
		c.fits, c.contrary = 0, 0
	}
	if c.tooLarge == 0 || size < c.tooLarge {
		c.tooLarge = size
	}
	c.cap = c.next()
	// Each 413 that agrees with the search is more evidence of a real
	// limit: wait longer before doubting it. One 413 alone is doubted
	// soon.
	c.refusals++
	c.probeAfter = max(c.probeAfter, min(1<<min(c.refusals, 16), maxProbeAfter))
}

// accepted takes an answer to a body of size bytes; limited says the cap
// limited it. Caller holds mu.
func (c *bodyCap) accepted(size int, limited bool) {
	c.contrary = 0
	if c.probeFrom > 0 && size > c.probeFrom {
		// A probe fitted: what was refused before does not bound the
		// limit now.
		c.probeFrom, c.refusals = 0, 0
		c.probeAfter = firstProbeAfter
	}
	if size > c.fits {
		c.fits = size
	}
	if c.tooLarge > 0 && size >= c.tooLarge {
		c.tooLarge = 0 // the limit has risen, or the 413 was a mistake
		c.cap = c.max
	}
	if !limited || c.cap >= c.max {
		c.run = 0
		return
	}
	c.run++
	if c.tooLarge > 0 {
		if next := c.next(); next > c.cap {
			// A full body fitted: try halfway to the size known too
			// large, unless that is close enough already.
			c.cap = next
			return
		}
	}
	if c.run >= c.probeAfter && c.probeFrom == 0 {
		c.probeFrom, c.cap, c.run = c.cap, c.max, 0
	}
}

// next is the cap to try: halfway between what fits and what does not, or
// half what does not while nothing has fitted yet; never below what fits,
// nor above the configured maximum. Caller holds mu.
func (c *bodyCap) next() int {
	if c.fits == 0 {
		return min(max(c.tooLarge/2, 1), c.max)
	}
	if c.tooLarge-c.fits <= c.tooLarge/closeEnough {
		return min(c.fits, c.max)
	}
	return min(max((c.fits+c.tooLarge)/2, c.fits), c.max)
}

// answered reports whether err is an answer Dripcel read the body for: its
// own envelope refusing the content.
func answered(err error) bool {
	_, ok := refusedContent(err)
	return ok
}
