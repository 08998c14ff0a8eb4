package dripcel

import (
	"math/rand/v2"
	"testing"
)

// Whatever the answers, the cap stays within 1 and the configured maximum,
// and a 413 never takes it below the largest body accepted unless 413s for
// bodies that size keep coming (contraryLimit in a row).
func TestBodyCapInvariants(t *testing.T) {
	tooLargeErr := &APIError{StatusCode: 413}
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 1))
		limit := 1000 + rng.IntN(200_000)
		c := newBodyCap(102_400)
		for range 500 {
			before := c.limit()
			fitsBefore := c.fits
			size := 1 + rng.IntN(before)
			if rng.IntN(10) == 0 {
				size = before + rng.IntN(before) // a probe's size, or a sale too large
			}
			n := 1 + rng.IntN(600)
			if size > limit || rng.IntN(50) == 0 { // now and then a 413 by mistake
				c.learn(size, n, rng.IntN(2) == 0, tooLargeErr)
				if c.contrary == 0 && c.fits == 0 && fitsBefore > 0 {
					continue // the limit fell, and was believed
				}
				if got := c.limit(); got < fitsBefore && got < before {
					t.Fatalf("seed %d: after a 413 for %d bytes the cap fell from %d to %d, below %d accepted", seed, size, before, got, fitsBefore)
				}
			} else {
				c.learn(size, n, rng.IntN(2) == 0, nil)
			}
			if got := c.limit(); got < 1 || got > 102_400 {
				t.Fatalf("seed %d: cap %d", seed, got)
			}
		}
	}
}

// After a single 413 on a small body, two accepted requests the cap
// limited bring it back to the maximum.
func TestBodyCapProbesAfterALone413(t *testing.T) {
	c := newBodyCap(102_400)
	c.learn(302, 2, false, &APIError{StatusCode: 413})
	if c.limit() >= 302 {
		t.Fatalf("cap %d after a 413 for 302 bytes", c.limit())
	}
	c.learn(152, 1, false, nil)
	c.learn(152, 1, true, nil)
	if c.limit() != 102_400 {
		t.Fatalf("cap %d after two limited bodies accepted, want a probe at 102400", c.limit())
	}
	c.learn(102_400, 680, true, nil)
	if c.limit() != 102_400 || c.tooLarge != 0 {
		t.Fatalf("cap %d, too large %d after the probe fitted", c.limit(), c.tooLarge)
	}
}
