package dripcel_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
)

// The canary key holds characters that change under query escaping, so a
// leak in either form is caught; leakMark is in every form of it.
const (
	leakKey  = "canary_Sk+/=&?#%_7f3a"
	leakMark = "canary_Sk"
	// leakCell is the customer's cell in every fault row: it travels in
	// the postback query and must not reach an error or a log either.
	leakCell = "27631239876"
)

// secretForms are the strings no error, log line or printed value may hold.
func secretForms() []string {
	return []string{leakKey, url.QueryEscape(leakKey), url.PathEscape(leakKey), leakMark, leakCell}
}

// faultCall is one of the two ways to report a sale; every fault row runs both.
type faultCall struct {
	name string
	run  func(ctx context.Context, c *dripcel.Client) error
}

func faultSale() dripcel.Sale {
	return dripcel.Sale{Cell: leakCell, ClickID: "click-1"}
}

var faultCalls = []faultCall{
	{"UploadSales", func(ctx context.Context, c *dripcel.Client) error {
		return c.UploadSales(ctx, []dripcel.Sale{faultSale()})
	}},
	{"Postback", func(ctx context.Context, c *dripcel.Client) error {
		return c.Postback(ctx, faultSale())
	}},
}

// attemptCounter counts the attempts the retry layer makes (the round
// trips below it) and can run a hook after each one.
type attemptCounter struct {
	base  http.RoundTripper
	n     atomic.Int32
	after func(*http.Response, error)
}

func (ct *attemptCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	ct.n.Add(1)
	resp, err := ct.base.RoundTrip(req)
	if ct.after != nil {
		ct.after(resp, err)
	}
	return resp, err
}

// rig is a client under test with everything the security checks look at.
type rig struct {
	client   *dripcel.Client
	logs     *logBuffer
	attempts *attemptCounter
}

// newRig builds a client for baseURL with the canary key, Debug logging into
// a buffer, short retry waits and a transport of its own (closed at the end
// of the test, so no connection outlives it). opts come last and win.
func newRig(t *testing.T, baseURL string, opts ...dripcel.Option) *rig {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return newRigTransport(t, baseURL, tr, opts...)
}

// newRigTransport is newRig over the given transport.
func newRigTransport(t *testing.T, baseURL string, base http.RoundTripper, opts ...dripcel.Option) *rig {
	t.Helper()
	r := &rig{logs: &logBuffer{}, attempts: &attemptCounter{base: base}}
	all := append([]dripcel.Option{
		dripcel.WithBaseURL(baseURL),
		dripcel.WithLogger(r.logs.logger()),
		dripcel.WithRetryWait(time.Millisecond, 5*time.Millisecond),
		testBudget,
		dripcel.WithHTTPClient(&http.Client{Transport: r.attempts}),
	}, opts...)
	c, err := dripcel.NewClient(leakKey, all...)
	if err != nil {
		t.Fatal(err)
	}
	r.client = c
	return r
}

// checkSecrets fails the test if the key or the customer's cell shows in
// err (every error in its tree, in every fmt verb), in any log line, or in
// the client printed. It also checks that there were log lines to scan.
func (r *rig) checkSecrets(t *testing.T, err error) {
	t.Helper()
	var printed []string
	walkErrors(err, func(e error) {
		printed = append(printed, e.Error(), fmt.Sprintf("%v", e), fmt.Sprintf("%+v", e),
			fmt.Sprintf("%#v", e), fmt.Sprintf("%s", e)) //nolint:gocritic // every verb is the point
	})
	c := r.client
	printed = append(printed, c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s", c))
	logs := r.logs.String()
	if logs == "" {
		t.Error("no log lines at Debug level: nothing to scan")
	}
	for line := range strings.SplitSeq(strings.TrimSpace(logs), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not one JSON object: %q", line)
		}
	}
	printed = append(printed, logs)
	for _, p := range printed {
		for _, s := range secretForms() {
			if strings.Contains(p, s) {
				t.Errorf("secret %q leaked into %q", s, p)
			}
		}
	}
}

// walkErrors calls fn on err and every error it wraps.
func walkErrors(err error, fn func(error)) {
	if err == nil {
		return
	}
	fn(err)
	switch u := err.(type) { //nolint:errorlint // walking the tree by hand
	case interface{ Unwrap() error }:
		walkErrors(u.Unwrap(), fn)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walkErrors(e, fn)
		}
	}
}

// expectErr fails the test unless err is nil exactly when ok is true, and
// reports whether there is an error left to examine.
func expectErr(t *testing.T, err error, ok bool) bool {
	t.Helper()
	if ok {
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
		return false
	}
	if err == nil {
		t.Fatal("err = nil, want an error")
	}
	return true
}

// sentinels are every sentinel a call can match.
var sentinels = []error{
	dripcel.ErrCampaignNotFound, dripcel.ErrDuplicateSale, dripcel.ErrUnauthorized,
	dripcel.ErrRateLimited, dripcel.ErrInvalidSale, dripcel.ErrInvalidCell, dripcel.ErrNotFromDripcel,
}

// checkSentinel fails unless err matches want and no other sentinel; want
// nil means none at all.
func checkSentinel(t *testing.T, err, want error) {
	t.Helper()
	for _, s := range sentinels {
		if got := errors.Is(err, s); got != errors.Is(s, want) {
			t.Errorf("errors.Is(err, %v) = %v; err: %v", s, got, err)
		}
	}
}
