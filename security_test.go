package dripcel_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dripcel-go/dripcel"
)

// Certificates are verified by default: a server whose certificate no
// trusted authority signed is refused at once, without a retry and without
// a request; the same server is reached once its certificate is trusted
// through WithHTTPClient.
func TestTLSVerifiedByDefault(t *testing.T) {
	t.Parallel()
	for _, call := range faultCalls {
		t.Run(call.name, func(t *testing.T) {
			t.Parallel()
			var conns, requests atomic.Int32
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				requests.Add(1)
				_, _ = io.WriteString(w, `{"ok":true}`)
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
			srv.StartTLS()
			t.Cleanup(srv.Close)

			c, err := dripcel.NewClient(leakKey, dripcel.WithBaseURL(srv.URL), testBudget)
			if err != nil {
				t.Fatal(err)
			}
			err = call.run(context.Background(), c)
			var verr *tls.CertificateVerificationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a certificate verification error", err)
			}
			if conns.Load() != 1 || requests.Load() != 0 {
				t.Errorf("%d connections and %d requests, want 1 and 0 (no retry)", conns.Load(), requests.Load())
			}

			// A private authority is trusted by passing its pool in a
			// client's transport (here httptest's, which trusts srv).
			r := newRigTransport(t, srv.URL, srv.Client().Transport)
			err = call.run(context.Background(), r.client)
			if err != nil || requests.Load() != 1 {
				t.Fatalf("with the server's certificate trusted: err = %v after %d requests", err, requests.Load())
			}
			r.checkSecrets(t, err)
		})
	}
}

// keyWitness records whether requests carried the key, in the header or
// the query.
type keyWitness struct {
	mu       sync.Mutex
	requests int
	withKey  int
}

func (k *keyWitness) see(r *http.Request) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.requests++
	if strings.Contains(r.Header.Get("Authorization"), leakKey) || r.URL.Query().Has("key") ||
		strings.Contains(r.URL.RawQuery, leakMark) {
		k.withKey++
	}
}

func (k *keyWitness) counts() (requests, withKey int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.requests, k.withKey
}

// A redirect away from the configured origin, to another host or from
// https to http, is followed without the key.
func TestRedirectDropsKey(t *testing.T) {
	t.Parallel()
	newOrigin := func(t *testing.T, tlsOn bool, target string) (*httptest.Server, *keyWitness) {
		t.Helper()
		w := &keyWitness{}
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			w.see(r)
			_, _ = io.Copy(io.Discard, r.Body)
			http.Redirect(rw, r, target+r.URL.Path+"?campaign_id=camp-1", http.StatusTemporaryRedirect)
		}))
		if tlsOn {
			srv.StartTLS()
		} else {
			srv.Start()
		}
		t.Cleanup(srv.Close)
		return srv, w
	}
	for _, tc := range []struct {
		name  string
		https bool
	}{{"to another host", false}, {"from https to http", true}} {
		for _, call := range faultCalls {
			t.Run(tc.name+"/"+call.name, func(t *testing.T) {
				t.Parallel()
				landing := &keyWitness{}
				elsewhere := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
					landing.see(r)
					_, _ = io.WriteString(rw, `{"ok":true}`)
				}))
				t.Cleanup(elsewhere.Close)
				origin, home := newOrigin(t, tc.https, elsewhere.URL)

				r := newRigTransport(t, origin.URL, origin.Client().Transport)
				err := call.run(context.Background(), r.client)
				if !errors.Is(err, dripcel.ErrNotFromDripcel) {
					t.Fatalf("err = %v, want ErrNotFromDripcel: a redirect is never followed", err)
				}
				if n, k := home.counts(); n == 0 || k != n {
					t.Errorf("origin: %d requests, %d with the key; want every one with it", n, k)
				}
				if n, _ := landing.counts(); n != 0 {
					t.Errorf("redirect target: %d requests, want none", n)
				}
				r.checkSecrets(t, err)
			})
		}
	}
}

// The same host over plain http is not the configured origin either. There
// is no real server with one port for both schemes, so a transport plays
// both ends.
func TestRedirectToHTTPSameHostDropsKey(t *testing.T) {
	t.Parallel()
	for _, call := range faultCalls {
		t.Run(call.name, func(t *testing.T) {
			t.Parallel()
			var got []*http.Request
			rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
				got = append(got, req)
				if req.URL.Scheme == "https" {
					loc := "http://" + req.URL.Host + req.URL.Path + "?campaign_id=camp-1"
					return &http.Response{StatusCode: http.StatusTemporaryRedirect, Request: req,
						Header: http.Header{"Location": {loc}}, Body: http.NoBody}, nil
				}
				return &http.Response{StatusCode: http.StatusOK, Request: req, Header: http.Header{},
					Body: io.NopCloser(strings.NewReader(`{"ok":true}`))}, nil
			})
			r := newRigTransport(t, "https://api.dripcel.invalid", rt)
			if err := call.run(context.Background(), r.client); !errors.Is(err, dripcel.ErrNotFromDripcel) {
				t.Fatalf("err = %v, want ErrNotFromDripcel", err)
			}
			for _, req := range got {
				if req.URL.Scheme != "https" {
					t.Errorf("a request went to %s: the redirect was followed", req.URL.Scheme)
				}
			}
		})
	}
}
