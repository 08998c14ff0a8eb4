package dripcel_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a
// Reporter must stop its goroutine in Close. Started as the benchmarks'
// discard server, the binary serves instead of testing.
func TestMain(m *testing.M) {
	serveBenchIfAsked()
	goleak.VerifyTestMain(m)
}
