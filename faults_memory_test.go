package dripcel_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"

	"github.com/dripcel-go/dripcel"
)

// A 20 MiB error body (a proxy's error page gone wrong) is read only as far
// as the client's limit: the call allocates a small fraction of it and the
// error string stays short. Not parallel, so that the process-wide
// allocation count is this test's own.
func TestFaultHugeErrorBody(t *testing.T) {
	const size = 20 << 20
	huge := make([]byte, size)
	for i := range huge {
		huge[i] = 'x'
	}
	for _, code := range []int{400, 500} {
		for _, call := range faultCalls {
			t.Run(strconv.Itoa(code)+"/"+call.name, func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Length", strconv.Itoa(size))
					w.WriteHeader(code)
					_, _ = w.Write(huge)
				}))
				t.Cleanup(srv.Close)
				r := newRig(t, srv.URL)

				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				err := call.run(context.Background(), r.client)
				runtime.ReadMemStats(&after)

				allocated := after.TotalAlloc - before.TotalAlloc
				t.Logf("%d-byte body: %d bytes allocated by the call", size, allocated)
				if allocated > 2<<20 {
					t.Errorf("the call allocated %d bytes for a %d-byte body", allocated, size)
				}
				var apiErr *dripcel.APIError
				if !errors.As(err, &apiErr) || apiErr.StatusCode != code {
					t.Fatalf("err = %v, want an *APIError with status %d", err, code)
				}
				if n := len(err.Error()); n > 500 {
					t.Errorf("error string is %d bytes", n)
				}
				r.checkSecrets(t, err)
			})
		}
	}
}
