package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
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
		"The fake Dripcel recorded 4 sales.",
		"-> 400",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
