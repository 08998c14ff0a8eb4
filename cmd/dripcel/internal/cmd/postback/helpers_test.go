package postback_test

import (
	"testing"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/clitest"
)

func TestMain(m *testing.M) { clitest.Main(m) }

var (
	runCLI       = clitest.Run
	newServer    = clitest.NewServer
	env          = clitest.Env
	wantStored   = clitest.WantStored
	wantContains = clitest.WantContains
)

// The campaigns, send and clicks every test server knows.
const (
	campaign = clitest.Campaign
	send1    = clitest.Send1
	click1   = clitest.Click1
	click2   = clitest.Click2
)
