package main

import (
	"testing"

	"github.com/dripcel-go/dripcel/internal/leaktest"
)

// TestMain fails the run if the example leaves a goroutine behind once it
// has returned.
func TestMain(m *testing.M) { leaktest.Main(m) }
