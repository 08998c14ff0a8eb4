package dripcelpg_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel/dripcelpg"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestOptionsValidated(t *testing.T) {
	pool, err := pgxpool.New(t.Context(), "postgres://nobody@127.0.0.1:1/none") // never dialled
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	c := client(t, "http://127.0.0.1:1", "k")
	for name, opt := range map[string]dripcelpg.Option{
		"WithTable":    dripcelpg.WithTable(`orders"; DROP TABLE orders; --`),
		"WithSchema":   dripcelpg.WithSchema(""),
		"WithLeaseTTL": dripcelpg.WithLeaseTTL(100 * time.Millisecond),
		"WithInstance": dripcelpg.WithInstance(""),
	} {
		if _, err := dripcelpg.New(pool, c, opt); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: New = %v, want an error naming the option", name, err)
		}
	}
	for _, ok := range []string{"orders_outbox", "_x", "A9"} {
		if _, err := dripcelpg.New(pool, c, dripcelpg.WithTable(ok)); err != nil {
			t.Errorf("WithTable(%q): %v", ok, err)
		}
	}
	if _, err := dripcelpg.New(nil, c); err == nil {
		t.Error("New(nil pool) succeeded")
	}
}
