// Command outbox is a checkout service for a fleet: each instance writes
// the order and enqueues its sale in one PostgreSQL transaction, so a sale
// is reported if and only if its order commits, and every instance runs a
// Reporter on the outbox, of which one at a time delivers to Dripcel.
//
//	go run ./examples/outbox -demo
//
// The demo needs a PostgreSQL (default postgres://postgres@127.0.0.1:5432/test,
// or -database-url / DATABASE_URL). It works in a schema of its own,
// dropped at the end, against a fake Dripcel in this process: it places a
// few orders (one of them for an unknown campaign, one whose payment fails
// and rolls the order back), delivers, and prints what Dripcel recorded and
// what it refused. Without -demo it serves POST /checkout on -addr and
// reports to the real API with the key in DRIPCEL_API_KEY.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripcelpg"
	"github.com/dripcel-go/dripcel/dripceltest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

type config struct {
	demo        bool
	addr        string
	databaseURL string
	campaign    string
	baseURL     string // "" for Dripcel's own
}

func main() {
	var cfg config
	flag.BoolVar(&cfg.demo, "demo", false, "place a few orders against a fake Dripcel, in a schema of its own, and exit")
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "address to serve POST /checkout on")
	flag.StringVar(&cfg.databaseURL, "database-url", cmp.Or(os.Getenv("DATABASE_URL"), "postgres://postgres@127.0.0.1:5432/test"),
		"PostgreSQL to keep orders and the outbox in")
	flag.StringVar(&cfg.campaign, "campaign", "demo-campaign", "Dripcel campaign ID the sales belong to")
	flag.StringVar(&cfg.baseURL, "base-url", "", "Dripcel API address (default: Dripcel's own)")
	flag.Parse()
	if os.Getenv("DRIPCEL_API_KEY") == "" && !cfg.demo {
		fmt.Println("DRIPCEL_API_KEY is not set: running the demo.")
		cfg.demo = true
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "outbox:", err)
		os.Exit(1)
	}
}

// run connects, migrates, and serves checkouts until ctx ends (the demo
// places its orders and ends by itself).
func run(ctx context.Context, out io.Writer, cfg config) error {
	pcfg, err := pgxpool.ParseConfig(cfg.databaseURL)
	if err != nil {
		return err
	}
	// Named connections: the outbox's queries show up under this name in
	// pg_stat_activity, so an operator can tell which instance runs what.
	host, _ := os.Hostname()
	pcfg.ConnConfig.RuntimeParams["application_name"] = fmt.Sprintf("outbox-example-%s-%d", host, os.Getpid())
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		// The host and port only: the URL may hold a password.
		cc := pool.Config().ConnConfig
		return fmt.Errorf("PostgreSQL at %s:%d: %w", cc.Host, cc.Port, err)
	}

	key := os.Getenv("DRIPCEL_API_KEY")
	clientOpts := []dripcel.Option{dripcel.WithCellRegion("ZA")}
	if cfg.baseURL != "" {
		clientOpts = append(clientOpts, dripcel.WithBaseURL(cfg.baseURL))
	}
	var outboxOpts []dripcelpg.Option
	schema := "public"
	if cfg.demo {
		srv := dripceltest.Start(dripceltest.WithCampaigns(
			dripceltest.Campaign{ID: cfg.campaign, Country: "ZA", DefaultSaleValue: 100}))
		defer srv.Close()
		srv.Fail(2, http.StatusServiceUnavailable) // a short outage: the sales wait in the outbox
		key = srv.Key
		// The fake has no budget; Dripcel's own is about 50 requests a
		// minute, to which the client paces itself by default.
		clientOpts = append(clientOpts, dripcel.WithBaseURL(srv.URL), dripcel.WithRetryWait(20*time.Millisecond, 100*time.Millisecond),
			dripcel.WithRateLimit(100, time.Second))
		schema = fmt.Sprintf("dripcel_outbox_demo_%d", os.Getpid())
		if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			return err
		}
		defer func() { _, _ = pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") }()
		outboxOpts = append(outboxOpts, dripcelpg.WithSchema(schema))
		defer func() { fmt.Fprintf(out, "The fake Dripcel recorded %d sales.\n", len(srv.Sales())) }()
	}
	client, err := dripcel.NewClient(key, clientOpts...)
	if err != nil {
		return err
	}
	outbox, err := dripcelpg.New(pool, client, outboxOpts...)
	if err != nil {
		return err
	}
	// Every instance migrates at start; concurrent calls wait for each other.
	if err := outbox.Migrate(ctx); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+pgx.Identifier{schema, "orders"}.Sanitize()+` (
		id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, cell text NOT NULL, amount numeric NOT NULL,
		placed_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return err
	}

	// Every instance runs a Reporter on the outbox; the one holding the
	// lease delivers, and another takes over within seconds if it dies.
	reporter, err := dripcel.NewReporter(client, dripcel.WithQueue(outbox.Queue()),
		dripcel.WithFlushInterval(time.Second),
		dripcel.WithOnRejected(func(s dripcel.Sale, err error) {
			// The sale is also kept, with Dripcel's answer, in the
			// rejected table; the Ref leads back to the order.
			fmt.Fprintf(out, "  Dripcel refused the sale of order %s: %v\n", s.Ref, err)
		}))
	if err != nil {
		return err
	}
	defer func() { _ = reporter.Close(context.Background()) }()

	h := &checkout{pool: pool, outbox: outbox, orders: pgx.Identifier{schema, "orders"}.Sanitize(), campaign: cfg.campaign}
	if cfg.demo {
		return demo(ctx, out, h, reporter, outbox)
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Fprintf(out, "Serving POST http://%s/checkout\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// checkout is the handler: the order and its sale commit together, or
// neither does.
type checkout struct {
	pool     *pgxpool.Pool
	outbox   *dripcelpg.Outbox
	orders   string
	campaign string
}

// order is the body of POST /checkout.
type order struct {
	Cell     string  `json:"cell"`
	Amount   float64 `json:"amount"`
	Campaign string  `json:"campaign"` // "" for the service's own
	Declined bool    `json:"declined"` // the demo's failed payment
}

func (h *checkout) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/checkout" {
		http.NotFound(w, req)
		return
	}
	var o order
	if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 4096)).Decode(&o); err != nil {
		http.Error(w, "bad order", http.StatusBadRequest)
		return
	}
	id, err := h.place(req.Context(), o)
	switch {
	case errors.Is(err, dripcel.ErrInvalidSale):
		http.Error(w, err.Error(), http.StatusBadRequest)
	case errors.Is(err, errDeclined):
		http.Error(w, "payment declined", http.StatusPaymentRequired)
	case err != nil:
		http.Error(w, "could not place the order", http.StatusInternalServerError)
	default:
		w.WriteHeader(http.StatusCreated)
		_, _ = fmt.Fprintf(w, `{"order":%d}`, id)
	}
}

var errDeclined = errors.New("payment declined")

// place writes the order and enqueues its sale in one transaction.
func (h *checkout) place(ctx context.Context, o order) (int64, error) {
	var id int64
	err := pgx.BeginFunc(ctx, h.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "INSERT INTO "+h.orders+" (cell, amount) VALUES ($1, $2) RETURNING id",
			o.Cell, o.Amount).Scan(&id); err != nil {
			return err
		}
		err := h.outbox.Enqueue(ctx, tx, dripcel.Sale{
			CampaignID: cmp.Or(o.Campaign, h.campaign),
			Cell:       o.Cell,
			SoldAt:     time.Now(),
			SaleValue:  dripcel.Value(o.Amount),
			Ref:        fmt.Sprint(id), // never sent; comes back with a refusal
		})
		if err != nil {
			return err
		}
		// ... take the payment; an error here rolls back the order and
		// its sale alike ...
		if o.Declined {
			return errDeclined
		}
		return nil
	})
	return id, err
}

// demo plays the customers, waits until the outbox is delivered, and
// reports.
func demo(ctx context.Context, out io.Writer, h http.Handler, reporter *dripcel.Reporter, outbox *dripcelpg.Outbox) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()
	url := "http://" + ln.Addr().String() + "/checkout"
	hc := &http.Client{Timeout: 5 * time.Second}
	for _, body := range []string{
		`{"cell":"063 123 1234","amount":199.99}`,
		`{"cell":"0821234567","amount":50}`,
		`{"cell":"(072) 555-0101","amount":75,"declined":true}`,
		`{"cell":"27845550199","amount":1200,"campaign":"no-such-campaign"}`,
		`{"cell":"12345","amount":10}`,
	} {
		resp, err := hc.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			return err
		}
		msg, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		fmt.Fprintf(out, "  order %-68s -> %d %s\n", body, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	flush, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := reporter.Flush(flush); err != nil {
		return err
	}
	st, err := outbox.Stats(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Outbox: %d queued, %d rejected.\n", st.Queued, st.Rejected)
	return nil
}
