package dripcelpg_test

import (
	"context"
	"log"
	"net/http"
	"os"

	"github.com/dripcel-go/dripcel/dripcelpg"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The status page mounted in a service's own admin, behind its
// authentication (the page brings none), with the retry action enabled.
func ExampleStatusHandler() {
	pool, err := pgxpool.New(context.Background(), os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	// A nil client: the page only looks after the outbox.
	outbox, err := dripcelpg.New(pool, nil)
	if err != nil {
		log.Fatal(err)
	}
	page := dripcelpg.StatusHandler(outbox, dripcelpg.WithRetryAction())
	mux := http.NewServeMux()
	mux.Handle("/admin/dripcel/", requireAdmin(http.StripPrefix("/admin/dripcel", page)))
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", mux))
}

// requireAdmin stands for the service's own authentication.
func requireAdmin(h http.Handler) http.Handler { return h }
