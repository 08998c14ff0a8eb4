package dripcel_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a
// Reporter must stop its goroutine in Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
