package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// TestDemo runs the demo end to end: orders are placed, the service is told
// to stop, and every valid sale reaches the fake Dripcel despite its
// failures.
func TestDemo(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var out bytes.Buffer
	if err := run(ctx, &out, config{demo: true, campaign: "demo-campaign"}, stop); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"Reported 4: 4 accepted, 0 already recorded, 0 refused, 0 still queued",
		// The orders with a click were reported by it alone (the fake
		// refuses a sale naming a click and a campaign) and count for the
		// click's campaign.
		"The fake Dripcel recorded 4 sales, 2 of them by the customer's click (counted for demo-campaign).",
		"-> 400",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestListenFailureDoesNotHangOnDeadDripcel checks that when the service
// cannot start (its address is taken) while Dripcel hangs and the spool
// holds sales from the last run, run returns the error within the close
// deadline instead of waiting for Dripcel for ever.
func TestListenFailureDoesNotHangOnDeadDripcel(t *testing.T) {
	hung := dripceltest.NewServer(t, dripceltest.WithCampaigns(dripceltest.Campaign{ID: "c1", Country: "ZA"}))
	hung.Delay(1000, time.Hour)
	client, err := dripcel.NewClient(hung.Key, dripcel.WithBaseURL(hung.URL))
	if err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(t.TempDir(), "dripcel.spool")
	// The last run left a sale in the spool.
	last, err := dripcel.NewReporter(client, dripcel.WithSpool(spool))
	if err != nil {
		t.Fatal(err)
	}
	if err := last.Report(context.Background(), dripcel.Sale{CampaignID: "c1", Cell: "27631231234"}); err != nil {
		t.Fatal(err)
	}
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	if err := last.Close(expired); err == nil {
		t.Fatal("the sale was delivered to a hung server")
	}

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = taken.Close() }()
	t.Setenv("DRIPCEL_API_KEY", hung.Key)
	cfg := config{addr: taken.Addr().String(), spool: spool, campaign: "c1", baseURL: hung.URL, closeIn: 50 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- run(context.Background(), io.Discard, cfg, func() {}) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "listen tcp") {
			t.Errorf("run = %v, want the listen error", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("run hung closing the Reporter after the listen failure")
	}
}
