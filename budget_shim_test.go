package dripcel_test

import (
	"time"

	"github.com/dripcel-go/dripcel"
)

// TEMPORARY: main's settle_bench_test.go uses testBudget, which main's
// helpers_test.go does not define yet. Deleted at the next merge of main.
var testBudget = dripcel.WithRateLimit(1_000_000, time.Millisecond)
