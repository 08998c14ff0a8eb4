package fake_test

import (
	"testing"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/clitest"
)

func TestMain(m *testing.M) { clitest.Main(m) }

// Short names for the helpers every test of the command uses.
type (
	invocation = clitest.Invocation
)

var (
	runCLI       = clitest.Run
	writeFile    = clitest.WriteFile
	wantContains = clitest.WantContains
)
