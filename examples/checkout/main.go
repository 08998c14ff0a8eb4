// Command checkout is a checkout service that reports each sale to Dripcel
// without making the customer wait: the handler hands the sale to a
// dripcel.Reporter, which sends it in the background, keeps it on disk
// until Dripcel has it, and retries through outages. On SIGTERM or SIGINT
// the service stops taking orders and closes the Reporter with a deadline.
//
// A customer who came by the SMS's tracked link brings its click (the
// landing page keeps it and the order carries it as click_id): the sale is
// reported by that click alone, and Dripcel counts it for the campaign the
// click belongs to. A sale names exactly one of campaign_id, send_id or
// click_id, so an order without a click is reported for -campaign instead.
//
//	go run ./examples/checkout -demo
//
// The demo runs against a fake Dripcel in this process (no key, no
// network) that fails some requests, places a few orders, sends itself
// SIGTERM and exits. Without -demo it serves POST /checkout on -addr and
// reports to the real API with the key in DRIPCEL_API_KEY; with no key set
// it runs the demo.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// closeDeadline bounds how long shutdown waits for Dripcel. Sales not
// delivered by then stay in the spool and go out after the restart.
const closeDeadline = 10 * time.Second

type config struct {
	demo     bool
	addr     string
	spool    string
	campaign string
	baseURL  string        // "" for Dripcel's own
	closeIn  time.Duration // 0 for closeDeadline
}

func main() {
	var cfg config
	flag.BoolVar(&cfg.demo, "demo", false, "run against an in-process fake Dripcel, place a few orders, and exit")
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "address to serve POST /checkout on")
	flag.StringVar(&cfg.spool, "spool", "dripcel.spool", "file that keeps unsent sales across restarts")
	flag.StringVar(&cfg.campaign, "campaign", "demo-campaign", "Dripcel campaign ID for the orders that come without a click")
	flag.StringVar(&cfg.baseURL, "base-url", "", "Dripcel API address (default: Dripcel's own)")
	flag.DurationVar(&cfg.closeIn, "close-timeout", closeDeadline, "how long shutdown waits for Dripcel before leaving sales in the spool")
	flag.Parse()
	if os.Getenv("DRIPCEL_API_KEY") == "" && !cfg.demo {
		fmt.Println("DRIPCEL_API_KEY is not set: running the demo.")
		cfg.demo = true
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, cfg, terminateSelf); err != nil {
		fmt.Fprintln(os.Stderr, "checkout:", err)
		os.Exit(1)
	}
}

// terminateSelf sends this process SIGTERM, as an orchestrator would.
func terminateSelf() {
	p, err := os.FindProcess(os.Getpid())
	if err == nil {
		err = p.Signal(syscall.SIGTERM)
	}
	if err != nil {
		log.Printf("cannot signal myself: %v", err)
	}
}

// run serves checkouts until ctx ends, then shuts down in order: stop taking
// orders, then close the Reporter. In the demo, placeOrders drives traffic
// and then calls terminate.
func run(ctx context.Context, out io.Writer, cfg config, terminate func()) error {
	say := log.New(out, "", 0).Printf // safe from the Reporter's goroutine too
	key := os.Getenv("DRIPCEL_API_KEY")
	clientOpts := []dripcel.Option{dripcel.WithCellRegion("ZA")}
	if cfg.baseURL != "" {
		clientOpts = append(clientOpts, dripcel.WithBaseURL(cfg.baseURL))
	}
	reporterOpts := []dripcel.ReporterOption{
		dripcel.WithOnRejected(func(s dripcel.Sale, err error) {
			// A real service would put these somewhere a person will see them.
			say("  Dripcel refused the sale for %s: %v\n", s.Cell, err)
		}),
	}
	if cfg.demo {
		// The fake knows the clicks of the demo's customers who came by
		// the tracked link, as Dripcel knows every click on its links.
		srv := dripceltest.Start(
			dripceltest.WithCampaigns(dripceltest.Campaign{ID: cfg.campaign, Country: "ZA", DefaultSaleValue: 100}),
			dripceltest.WithClicks(demoClicks(cfg.campaign)...))
		defer srv.Close()
		// A rough patch: enough failures in a row to outlast the client's
		// own retries, so the Reporter has to keep the sales and try again.
		srv.Fail(5, http.StatusServiceUnavailable)
		srv.RateLimit(1, "1")
		key = srv.Key
		clientOpts = append(clientOpts, dripcel.WithBaseURL(srv.URL),
			dripcel.WithRetryWait(50*time.Millisecond, 200*time.Millisecond))
		dir, err := os.MkdirTemp("", "checkout-demo-")
		if err != nil {
			return err
		}
		defer func() { _ = os.RemoveAll(dir) }()
		cfg.spool = filepath.Join(dir, "dripcel.spool")
		cfg.addr = "127.0.0.1:0"
		reporterOpts = append(reporterOpts, dripcel.WithFlushInterval(200*time.Millisecond))
		say("Demo: a fake Dripcel at %s that will fail the first requests.\n", srv.URL)
		defer func() {
			sales, byClick := srv.Sales(), 0
			for _, s := range sales {
				if s.ClickID != "" && s.CampaignID == cfg.campaign {
					byClick++
				}
			}
			say("The fake Dripcel recorded %d sales, %d of them by the customer's click (counted for %s).\n",
				len(sales), byClick, cfg.campaign)
		}()
	}

	client, err := dripcel.NewClient(key, clientOpts...)
	if err != nil {
		return err
	}
	reporter, err := dripcel.NewReporter(client, append(reporterOpts, dripcel.WithSpool(cfg.spool))...)
	if err != nil {
		return err
	}
	// Every way out closes the Reporter with a deadline: with Dripcel
	// down, Close would otherwise wait for ever on sales left in the spool.
	closeReporter := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), cmp.Or(cfg.closeIn, closeDeadline))
		defer cancel()
		return reporter.Close(ctx)
	}
	if st := reporter.Stats(); st.Resumed > 0 {
		say("Resuming %d sales left in %s by the last run.\n", st.Resumed, cfg.spool)
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		_ = closeReporter()
		return err
	}
	httpSrv := &http.Server{
		Handler:           checkoutHandler(reporter, cfg.campaign),
		ReadHeaderTimeout: 5 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()
	say("Serving POST http://%s/checkout\n", ln.Addr())
	if cfg.demo {
		go func() {
			placeOrders(say, "http://"+ln.Addr().String()+"/checkout")
			terminate()
		}()
	}

	select {
	case <-ctx.Done():
		say("Shutting down: no new orders; sending what is queued.")
	case err := <-served:
		_ = closeReporter()
		return err
	}

	// Stop taking orders first, so nothing is reported after Close.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil {
		say("  http shutdown: %v\n", err)
	}
	closeErr := closeReporter()
	st := reporter.Stats()
	say("Reported %d: %d accepted, %d already recorded, %d refused, %d still queued (%d retries).\n",
		st.Reported, st.Sent, st.Duplicates, st.Rejected, st.Queued, st.Retries)
	if closeErr != nil {
		// The sales are safe in the spool; they go out on the next start.
		return fmt.Errorf("closing the reporter: %w", closeErr)
	}
	return nil
}

// order is the body of POST /checkout.
type order struct {
	Cell   string  `json:"cell"`
	Amount float64 `json:"amount"`
	// ClickID is the click of Dripcel's tracked link the customer came by,
	// kept by the landing page; empty when they came another way.
	ClickID string `json:"click_id"`
}

// checkoutHandler completes an order and reports the sale. Report returns
// at once (the sale is on disk), so Dripcel being slow or down never slows
// the checkout.
func checkoutHandler(reporter *dripcel.Reporter, campaign string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, req *http.Request) {
		var o order
		if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 4096)).Decode(&o); err != nil {
			http.Error(w, "bad order", http.StatusBadRequest)
			return
		}
		// ... take the payment, store the order ...

		sale := dripcel.Sale{Cell: o.Cell, SoldAt: time.Now(), SaleValue: dripcel.Value(o.Amount)}
		// A sale names exactly one identifier: Dripcel refuses a sale with
		// a click and a campaign. The click says which SMS brought the
		// customer, and Dripcel knows its campaign, so it goes alone.
		if click := strings.TrimSpace(o.ClickID); click != "" {
			sale.ClickID = click
		} else {
			sale.CampaignID = campaign
		}
		err := reporter.Report(req.Context(), sale)
		switch {
		case errors.Is(err, dripcel.ErrInvalidSale):
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		case err != nil:
			// The order stands; only the report failed (the spool's disk, or
			// shutdown). Keep it somewhere to report later.
			log.Printf("sale for order not reported: %v", err)
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"status":"paid"}`)
	})
	return mux
}

// demoClicks are the clicks on the tracked link of campaign that the
// demo's customers came by.
func demoClicks(campaign string) []dripceltest.Click {
	return []dripceltest.Click{{ID: "clk-1001", CampaignID: campaign}, {ID: "clk-1002", CampaignID: campaign}}
}

// placeOrders plays the customers in the demo: two came by the SMS's
// tracked link and bring its click, the others came another way.
func placeOrders(say func(string, ...any), url string) {
	orders := []string{
		`{"cell":"063 123 1234","amount":199.99,"click_id":"clk-1001"}`,
		`{"cell":"0821234567","amount":50}`,
		`{"cell":"(072) 555-0101","amount":0,"click_id":"clk-1002"}`,
		`{"cell":"27845550199","amount":1200}`,
		`{"cell":"12345","amount":10}`, // not a phone number: refused at once
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	for _, body := range orders {
		start := time.Now()
		resp, err := hc.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			say("  order %s: %v\n", body, err)
			continue
		}
		msg, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		say("  order %-61s -> %d in %s: %s\n", body, resp.StatusCode,
			time.Since(start).Round(time.Millisecond), strings.TrimSpace(string(msg)))
	}
}
