package dripceltest_test

import (
	"testing"

	"github.com/dripcel-go/dripcel/internal/leaktest"
)

// TestMain fails the run if a test leaves a server goroutine behind, such as
// a handler held by Delay after Close.
func TestMain(m *testing.M) { leaktest.Main(m) }
