// Package leaktest is the TestMain of packages whose tests start goroutines:
// it fails the run if any goroutine outlives the tests.
package leaktest

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/dripcel-go/dripcel/internal/testsvc"
	"go.uber.org/goleak"
)

// Main runs m and then looks for goroutines left behind: a retry loop, a
// server handler or a connection reader that outlived its test. Idle
// keep-alive connections of http.DefaultTransport are closed first, as
// they are pooled by design, not leaked. It does not return.
func Main(m *testing.M) {
	code := m.Run()
	testsvc.Announce()
	if code == 0 {
		if tr, ok := http.DefaultTransport.(*http.Transport); ok {
			tr.CloseIdleConnections()
		}
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
