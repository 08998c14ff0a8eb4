//go:build race

package dripcel_test

// raceEnabled: the race detector slows the soak tenfold, so it runs a tenth
// of the load under it (still enough to find races between its goroutines).
const raceEnabled = true
