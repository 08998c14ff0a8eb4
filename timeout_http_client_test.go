package dripcel_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// deadlineTransport records how long each request's context had left.
type deadlineTransport struct {
	left chan time.Duration // -1 for no deadline
}

func (d *deadlineTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	left := time.Duration(-1)
	if dl, ok := r.Context().Deadline(); ok {
		left = time.Until(dl)
	}
	d.left <- left
	return http.DefaultTransport.RoundTrip(r)
}

// TestHTTPClientTimeoutBoundsAttempts: a caller's http.Client without a
// Timeout (the usual &http.Client{Transport: tr}, as for a private CA) keeps
// the default per-attempt bound; one with a Timeout sets it; WithTimeout wins.
func TestHTTPClientTimeoutBoundsAttempts(t *testing.T) {
	srv := dripceltest.NewServer(t, dripceltest.WithCampaigns(dripceltest.Campaign{ID: "camp-1", Country: "ZA"}))
	cases := []struct {
		name     string
		hc       time.Duration // the caller's http.Client.Timeout
		opts     []dripcel.Option
		min, max time.Duration // bounds of the deadline seen; max -1: none
	}{
		{"client without Timeout", 0, nil, dripcel.DefaultTimeout - 10*time.Second, dripcel.DefaultTimeout},
		{"client with Timeout", 7 * time.Second, nil, 2 * time.Second, 7 * time.Second},
		{"WithTimeout wins", 7 * time.Second, []dripcel.Option{dripcel.WithTimeout(time.Minute)}, 50 * time.Second, time.Minute},
		{"WithTimeout(0) removes the bound", 7 * time.Second, []dripcel.Option{dripcel.WithTimeout(0)}, -1, -1},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := &deadlineTransport{left: make(chan time.Duration, 1)}
			opts := append([]dripcel.Option{dripcel.WithBaseURL(srv.URL), testBudget,
				dripcel.WithHTTPClient(&http.Client{Transport: tr, Timeout: tc.hc})}, tc.opts...)
			c, err := dripcel.NewClient(srv.Key, opts...)
			if err != nil {
				t.Fatal(err)
			}
			s := dripcel.Sale{CampaignID: "camp-1", Cell: "2763123123" + string(rune('0'+i))}
			if err := c.Postback(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			left := <-tr.left
			if left < tc.min || left > tc.max {
				t.Errorf("attempt deadline %v away, want between %v and %v (-1: none)", left, tc.min, tc.max)
			}
		})
	}
}
