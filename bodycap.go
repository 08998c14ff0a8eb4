package dripcel

import (
	"sync"
)

// bodyCap is the largest upload body a client sends. It starts at
// WithMaxBatchBytes (DefaultMaxBatchBytes) and learns Dripcel's real limit,
// which Dripcel does not document, from its answers: a 413 lowers it and
// every body Dripcel answered proves its size fits. Between the largest
// size that fitted and the smallest refused it searches by bisection, so
// that requests stay as full as the limit allows at the cost of a few 413s,
// rather than halving once and sending half-empty requests for ever.
type bodyCap struct {
	mu       sync.Mutex
	cap      int
	fits     int // the largest body Dripcel answered; 0 before any
	tooLarge int // the smallest body refused with 413; 0 before any
}

// closeEnough is when the search stops: the gap between what fits and what
// is too large is under 1/closeEnough of the latter.
const closeEnough = 50

func newBodyCap(limit int) *bodyCap { return &bodyCap{cap: limit} }

// limit returns the current cap.
func (c *bodyCap) limit() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cap
}

// learn takes Dripcel's answer to a body of size bytes.
func (c *bodyCap) learn(size int, err error) {
	switch {
	case tooLarge(err):
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.tooLarge == 0 || size < c.tooLarge {
			c.tooLarge = size
		}
		if c.fits >= c.tooLarge {
			c.fits = 0 // the limit changed: what fitted once does not now
		}
		c.cap = c.next()
	case err == nil || answered(err):
		c.mu.Lock()
		defer c.mu.Unlock()
		if size <= c.fits {
			return
		}
		c.fits = size
		if c.tooLarge > 0 && size*10 >= c.cap*9 {
			// A full body fitted: try halfway to the size known too
			// large, unless that is close enough already.
			c.cap = c.next()
		}
	}
}

// next is the cap to try: halfway between what fits and what does not, or
// half what does not while nothing has fitted yet. Caller holds mu.
func (c *bodyCap) next() int {
	if c.fits == 0 {
		return max(c.tooLarge/2, 1)
	}
	if c.tooLarge-c.fits <= c.tooLarge/closeEnough {
		return c.fits
	}
	return (c.fits + c.tooLarge) / 2
}

// answered reports whether err is an answer Dripcel read the body for: its
// own envelope refusing the content.
func answered(err error) bool {
	_, ok := refusedContent(err)
	return ok
}
