package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/dripcel-go/dripcel/internal/leaktest"
	"github.com/dripcel-go/dripcel/internal/testsvc"
	"github.com/jackc/pgx/v5"
)

// TestMain fails the run if the example leaves a goroutine behind.
func TestMain(m *testing.M) { leaktest.Main(m) }

// TestDemo runs the demo end to end against the local PostgreSQL: the
// committed orders' sales are recorded, the rolled-back order's is not,
// the refused one is in the rejected table with its order's ID.
func TestDemo(t *testing.T) {
	url := testsvc.DatabaseURL()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		testsvc.Missing(t, "PostgreSQL", url, testsvc.DatabaseURLEnv, err)
	}
	_ = conn.Close(context.Background())

	var out bytes.Buffer
	if err := run(context.Background(), &out, config{demo: true, databaseURL: url, campaign: "demo-campaign"}); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"-> 402 payment declined",
		"-> 400",
		"Dripcel refused the sale of order 4:",
		"Outbox: 0 queued, 1 rejected.",
		"The fake Dripcel recorded 2 sales.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
