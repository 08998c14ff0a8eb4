package upload_test

import (
	"errors"
	"io/fs"
	"os"
	"testing"

	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/clitest"
)

func TestMain(m *testing.M) { clitest.Main(m) }

// Short names for the helpers every test of the command uses.
type (
	invocation = clitest.Invocation
	result     = clitest.Result
)

var (
	runCLI       = clitest.Run
	newServer    = clitest.NewServer
	env          = clitest.Env
	writeFile    = clitest.WriteFile
	readFile     = clitest.ReadFile
	stored       = clitest.Stored
	wantStored   = clitest.WantStored
	wantContains = clitest.WantContains
	summaryLine  = clitest.SummaryLine
)

// The campaigns, send and clicks every test server knows.
const (
	campaign  = clitest.Campaign
	campaign2 = clitest.Campaign2
)

// wantNoFile fails the test if path exists: a rejects file is written only
// when some row needs action.
func wantNoFile(t *testing.T, path string) {
	t.Helper()
	if b, err := os.ReadFile(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s exists (%v), holding %q; want no file", path, err, b)
	}
}
