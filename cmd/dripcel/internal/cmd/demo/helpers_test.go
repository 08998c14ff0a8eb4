package demo_test

import (
	"testing"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/clitest"
)

func TestMain(m *testing.M) { clitest.Main(m) }

var (
	runCLI       = clitest.Run
	wantContains = clitest.WantContains
	summaryLine  = clitest.SummaryLine
)
