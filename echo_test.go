package dripcel_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dripcel-go/dripcel"
)

// TestAnswerEchoingTheKeyIsRedacted: a server (or a proxy in front of it)
// that quotes the request in its answer — the URL with the postback's query,
// the Authorization header, the key in its message — must not put the key
// or the customer's cell into the APIError.
func TestAnswerEchoingTheKeyIsRedacted(t *testing.T) {
	bodies := map[string]func(r *http.Request) string{
		"HTML page quoting the request": func(r *http.Request) string {
			return fmt.Sprintf("<html><body>Cannot serve %s (auth %s)</body></html>",
				r.URL.RequestURI(), r.Header.Get("Authorization"))
		},
		"envelope quoting the key": func(r *http.Request) string {
			key := r.URL.Query().Get("key")
			if key == "" {
				key = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			}
			return fmt.Sprintf(`{"ok":false,"error":{"code":%q,"message":%q}}`,
				"bad key "+key, "invalid key "+key+" for "+r.URL.RequestURI())
		},
	}
	for name, body := range bodies {
		for _, call := range faultCalls {
			t.Run(name+"/"+call.name, func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusBadRequest)
					_, _ = fmt.Fprint(w, body(r))
				}))
				t.Cleanup(srv.Close)
				rg := newRig(t, srv.URL)
				err := call.run(context.Background(), rg.client)
				var apiErr *dripcel.APIError
				if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
					t.Fatalf("err = %v, want a 400 *APIError", err)
				}
				if !strings.Contains(err.Error(), "REDACTED") {
					t.Errorf("err = %v, want the server's words with the secrets marked REDACTED", err)
				}
				rg.checkSecrets(t, err)
			})
		}
	}
}
