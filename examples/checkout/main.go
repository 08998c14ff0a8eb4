// Command checkout is an HTTP checkout handler that reports each sale to
// Dripcel with a bounded context, treats a duplicate as success and logs
// other failures without failing the checkout.
//
//	go run ./examples/checkout -demo   # against an in-process fake Dripcel
//
// Without -demo it reports to the real API with the key in DRIPCEL_API_KEY
// and listens on -addr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/dripceltest"
)

// order is what the shop's checkout posts.
type order struct {
	CampaignID string  `json:"campaign_id"`
	Cell       string  `json:"cell"`
	Total      float64 `json:"total"`
}

// checkoutHandler completes an order and reports the sale. Reporting never
// fails the checkout: the customer has paid whatever Dripcel says.
func checkoutHandler(client *dripcel.Client, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var o order
		if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
			http.Error(w, "bad order", http.StatusBadRequest)
			return
		}
		// ... charge the customer, store the order ...

		// Bound the report so a slow Dripcel cannot hold the checkout open.
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		err := client.Postback(ctx, dripcel.Sale{CampaignID: o.CampaignID, Cell: o.Cell,
			SoldAt: time.Now(), SaleValue: dripcel.Value(o.Total)})
		switch {
		case err == nil, errors.Is(err, dripcel.ErrDuplicateSale):
			// Reported (a duplicate was reported before).
		default:
			log.Error("sale not reported to Dripcel", "campaign", o.CampaignID, "error", err)
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = fmt.Fprintln(w, "order placed")
	}
}

func main() {
	demo := flag.Bool("demo", false, "run two checkouts against an in-process fake Dripcel and exit")
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	if *demo {
		if err := runDemo(os.Stdout, log); err != nil {
			log.Error("demo failed", "error", err)
			os.Exit(1)
		}
		return
	}
	client, err := dripcel.NewClient(os.Getenv("DRIPCEL_API_KEY"), dripcel.WithCellRegion("ZA"), dripcel.WithLogger(log))
	if err != nil {
		log.Error("cannot create client", "error", err)
		os.Exit(1)
	}
	http.Handle("POST /checkout", checkoutHandler(client, log))
	log.Info("listening", "addr", *addr)
	srv := &http.Server{Addr: *addr, ReadHeaderTimeout: 5 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Error("server stopped", "error", err)
		os.Exit(1)
	}
}

// runDemo posts the same order twice to the handler, backed by a fake
// Dripcel, and prints what Dripcel recorded.
func runDemo(out io.Writer, log *slog.Logger) error {
	fake := dripceltest.Start(dripceltest.WithCampaigns(dripceltest.Campaign{ID: "spring-sale", Country: "ZA"}))
	defer fake.Close()
	client, err := dripcel.NewClient(fake.Key, dripcel.WithBaseURL(fake.URL), dripcel.WithCellRegion("ZA"))
	if err != nil {
		return err
	}
	shop := httptest.NewServer(checkoutHandler(client, log))
	defer shop.Close()
	for range 2 {
		resp, err := http.Post(shop.URL, "application/json",
			strings.NewReader(`{"campaign_id":"spring-sale","cell":"063 123 1234","total":249.90}`))
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		fmt.Fprintln(out, "checkout:", resp.Status)
	}
	for _, s := range fake.Sales() {
		fmt.Fprintf(out, "Dripcel recorded: campaign %s cell %s value %.2f\n", s.CampaignID, s.Cell, s.SaleValue)
	}
	return nil
}
