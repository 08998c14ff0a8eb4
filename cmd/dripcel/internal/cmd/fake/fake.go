// Package fake is the fake command: the dripceltest fake Dripcel on a
// local port, to try uploads without an account.
package fake

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/export"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dripcel-go/dripcel/dripceltest"
	"github.com/spf13/cobra"
)

// fakeFlags are fake's flags.
type fakeFlags struct {
	addr         string
	key          string
	campaigns    []string
	sends        []string // ID=CAMPAIGN
	clicks       []string // ID=CAMPAIGN
	country      string
	defaultValue float64
	batchMode    string
	verbose      bool
	// Faults, applied after the first `after` requests.
	after, fail, failStatus, drop int
	delay                         time.Duration
	ratePerMinute                 float64
	fixedWindow                   int
	proxyPage                     bool
}

// NewCmd is the fake command.
func NewCmd(std cli.Streams) *cobra.Command {
	var f fakeFlags
	cmd := &cobra.Command{
		Use:   "fake",
		Short: "Run a fake Dripcel on a local port, to try uploads without an account",
		Long: `Run the dripceltest fake Dripcel on a local address until Ctrl-C, so that
you can try "dripcel upload" (or your own code) on your own files without a
key or an account. Nothing leaves this machine. It prints the base URL and
the key to use, and logs each request with the sales it recorded.

It answers as Dripcel's documented API does: 200 {"ok":true}, 404 for an
unknown campaign, 409 for a sale with the cell, campaign and soldAt date of
one it has. A sale names exactly one of campaign_id, send_id or click_id;
one naming none, or more than one, is refused with 400. Sends and clicks
belong to campaigns (--send, --click): a sale naming only its send or click
counts for that campaign, duplicates included, and an unknown send or click
is 404. What Dripcel does not document is set by flags: how a batch holding
a duplicate or an unknown campaign, send or click is treated (--batch-mode),
the rate limit (--rate-limit or --fixed-window), and faults for the
requests after the first --after ones (--fail, --proxy-page, --drop,
--delay).

Exit codes: 0 stopped with Ctrl-C; 2 usage error, or the address is taken;
3 the fake stopped serving.`,
		Example: `  dripcel fake
  # in another terminal:
  export DRIPCEL_BASE_URL=http://127.0.0.1:8787 DRIPCEL_API_KEY=` + dripceltest.DefaultKey + `
  # an export with its own column names: --map names them
  dripcel upload --region ZA --campaign 639978184d735c88ed8bbd68 \
      --map cell=Phone,soldAt=Date,saleValue=Total --skip-invalid --rejects rejects.csv export.csv

  # sales that name only their send_id or click_id:
  dripcel fake --campaign c1 --send snd-1=c1 --click clk-42=c1,clk-43=c1

  # Dripcel's rate limit, and an outage after 3 requests:
  dripcel fake --fixed-window 50 --after 3 --fail 5 --fail-status 503`,
		Args: cli.ExactArgs(0, "fake takes flags only"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runFake(cmd.Context(), std, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8787", "the address to listen on (port 0: any free port)")
	fl.StringVar(&f.key, "key", dripceltest.DefaultKey, "the API key the fake accepts")
	fl.StringSliceVar(&f.campaigns, "campaign", []string{"639978184d735c88ed8bbd68", "demo-campaign"}, "the campaigns the fake knows")
	fl.StringSliceVar(&f.sends, "send", nil, "a send the fake knows and its campaign, ID=CAMPAIGN[,ID=CAMPAIGN…]: a sale naming only this send_id counts for that campaign")
	fl.StringSliceVar(&f.clicks, "click", nil, "a click the fake knows and its campaign, ID=CAMPAIGN[,ID=CAMPAIGN…]: a sale naming only this click_id counts for that campaign")
	fl.StringVar(&f.country, "country", "ZA", "the campaigns' country, in which local cells are read")
	fl.Float64Var(&f.defaultValue, "default-value", 150, "the campaigns' default sale value")
	fl.StringVar(&f.batchMode, "batch-mode", "partial", "a batch holding a duplicate or an unknown campaign, send or click: partial (store the others), atomic (store none) or prefix (store those before it)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log every sale recorded, not only the count of each request")
	fl.IntVar(&f.after, "after", 0, "answer this many requests normally before the faults begin")
	fl.IntVar(&f.fail, "fail", 0, "answer this many requests with --fail-status")
	fl.IntVar(&f.failStatus, "fail-status", http.StatusServiceUnavailable, "the status --fail answers with")
	fl.BoolVar(&f.proxyPage, "proxy-page", false, "--fail answers with a proxy's HTML page, not Dripcel's JSON (a front or a wrong path)")
	fl.IntVar(&f.drop, "drop", 0, "close the connection of this many requests without an answer")
	fl.DurationVar(&f.delay, "delay", 0, "hold every request this long before answering (when no --fail or --drop is given)")
	fl.Float64Var(&f.ratePerMinute, "rate-limit", 0, "answer 429 with Retry-After beyond this many requests a minute, as a token bucket (0: no limit)")
	fl.IntVar(&f.fixedWindow, "fixed-window", 0, "answer 429 without Retry-After beyond this many requests in each clock minute, as Dripcel's documented ~50 may be (0: no limit)")
	return cmd
}

func runFake(ctx context.Context, std cli.Streams, f *fakeFlags) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return cli.Usage("cannot listen on %s: %v (give another with --addr, or --addr 127.0.0.1:0 for any free port)", f.addr, err)
	}
	fake := dripceltest.Start(opts...)
	defer fake.Close()
	f.faults(fake)

	base := "http://" + ln.Addr().String()
	std.Out.Printf("A fake Dripcel is listening at %s (nothing leaves this machine).\n", base)
	std.Out.Printf("Campaigns: %s (country %s, default sale value %g); batches holding a duplicate: %s.\n",
		strings.Join(f.campaigns, ", "), f.country, f.defaultValue, f.batchMode)
	if len(f.sends) > 0 || len(f.clicks) > 0 {
		std.Out.Printf("Sends: %s; clicks: %s (ID=campaign).\n", listOrNone(f.sends), listOrNone(f.clicks))
	}
	std.Out.Printf("To send to it, in another terminal:\n  export DRIPCEL_BASE_URL=%s\n  export DRIPCEL_API_KEY=%s\n", base, f.key)
	std.Out.Printf("  dripcel upload --region %s --rejects rejects.csv sales.csv\nCtrl-C stops it.\n\n", f.country)

	l := &fakeLog{fake: fake, out: std.Out, verbose: f.verbose}
	srv := &http.Server{Handler: l.wrap(fake.Handler()), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-served:
		return cli.Exit(cli.ExitTransport, fmt.Errorf("the fake stopped: %w", err))
	}
	shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shut)
	std.Out.Printf("\nstopped: %s recorded in %s\n", cli.Plural(len(fake.Sales()), "sale"), cli.Plural(l.requests, "request"))
	return nil
}

// options turns the flags into the fake's options.
func (f *fakeFlags) options() ([]dripceltest.Option, error) {
	var mode dripceltest.BatchMode
	switch strings.ToLower(f.batchMode) {
	case "partial":
		mode = dripceltest.BatchPartial
	case "atomic":
		mode = dripceltest.BatchAtomic
	case "prefix":
		mode = dripceltest.BatchPrefix
	default:
		return nil, cli.Usage("--batch-mode %s: want partial, atomic or prefix", cli.Quote(f.batchMode))
	}
	region, err := export.CheckRegion(f.country)
	if err != nil {
		return nil, cli.Usage("--country %s is not a known region (use an ISO 3166 code such as ZA)", cli.Quote(f.country))
	}
	f.country = region
	if len(f.campaigns) == 0 {
		return nil, cli.Usage("--campaign: give at least one campaign ID")
	}
	if strings.TrimSpace(f.key) == "" {
		return nil, cli.Usage("--key is empty")
	}
	if f.after < 0 || f.fail < 0 || f.drop < 0 || f.delay < 0 || f.ratePerMinute < 0 || f.fixedWindow < 0 {
		return nil, cli.Usage("--after, --fail, --drop, --delay, --rate-limit and --fixed-window cannot be negative")
	}
	if f.fail > 0 && (f.failStatus < 400 || f.failStatus > 599) {
		return nil, cli.Usage("--fail-status %d: want an error status, 400 to 599", f.failStatus)
	}
	cs := make([]dripceltest.Campaign, len(f.campaigns))
	known := map[string]bool{}
	for i, id := range f.campaigns {
		f.campaigns[i] = strings.TrimSpace(id)
		cs[i] = dripceltest.Campaign{ID: f.campaigns[i], Country: region, DefaultSaleValue: f.defaultValue}
		known[f.campaigns[i]] = true
	}
	sends, err := ownedBy("--send", f.sends, known)
	if err != nil {
		return nil, err
	}
	clicks, err := ownedBy("--click", f.clicks, known)
	if err != nil {
		return nil, err
	}
	opts := []dripceltest.Option{dripceltest.WithKey(f.key), dripceltest.WithCampaigns(cs...), dripceltest.WithBatchMode(mode)}
	for _, p := range sends {
		opts = append(opts, dripceltest.WithSends(dripceltest.Send{ID: p[0], CampaignID: p[1]}))
	}
	for _, p := range clicks {
		opts = append(opts, dripceltest.WithClicks(dripceltest.Click{ID: p[0], CampaignID: p[1]}))
	}
	if f.ratePerMinute > 0 {
		opts = append(opts, dripceltest.WithRateLimit(f.ratePerMinute, 1))
	}
	if f.fixedWindow > 0 {
		opts = append(opts, dripceltest.WithFixedWindow(f.fixedWindow, time.Minute))
	}
	return opts, nil
}

// ownedBy reads the ID=CAMPAIGN pairs of --send or --click, rewriting each
// trimmed so the banner shows what the fake knows. A campaign the fake does
// not know is refused rather than answered 404 later: it is far more likely
// a typo than a test of the 404, which an unknown campaign_id gives anyway.
func ownedBy(flag string, pairs []string, known map[string]bool) ([][2]string, error) {
	out := make([][2]string, 0, len(pairs))
	seen := map[string]bool{}
	for i, p := range pairs {
		id, campaign, ok := strings.Cut(p, "=")
		id, campaign = strings.TrimSpace(id), strings.TrimSpace(campaign)
		switch {
		case !ok || id == "" || campaign == "":
			return nil, cli.Usage("%s %s: want ID=CAMPAIGN, e.g. %s snd-1=639978184d735c88ed8bbd68", flag, cli.Quote(p), flag)
		case !known[campaign]:
			return nil, cli.Usage("%s %s: campaign %s is not one the fake knows; add it with --campaign", flag, cli.Quote(p), cli.Quote(campaign))
		case seen[id]:
			return nil, cli.Usage("%s: %s is given twice", flag, cli.Quote(id))
		}
		seen[id] = true
		pairs[i] = id + "=" + campaign
		out = append(out, [2]string{id, campaign})
	}
	return out, nil
}

// listOrNone lists a flag's values for the banner.
func listOrNone(vs []string) string {
	if len(vs) == 0 {
		return "none"
	}
	return strings.Join(vs, ", ")
}

// faults queues the faults the flags ask for.
func (f *fakeFlags) faults(fake *dripceltest.Server) {
	if f.fail == 0 && f.drop == 0 {
		if f.delay > 0 {
			fake.Delay(1<<30, f.delay)
		}
		return
	}
	fake.Pass(f.after)
	fake.Drop(f.drop)
	if f.proxyPage {
		fake.Respond(f.fail, f.failStatus, "text/html", dripceltest.ProxyPage(f.failStatus))
	} else {
		fake.Fail(f.fail, f.failStatus)
	}
}

// fakeLog logs each request with the sales it recorded. Requests are served
// one at a time so that the sales stored can be told apart by request: a
// fake under Dripcel's budget of about 50 requests a minute loses nothing
// by it.
type fakeLog struct {
	mu       sync.Mutex
	fake     *dripceltest.Server
	out      *cli.Printer
	verbose  bool
	requests int
}

func (l *fakeLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		defer l.mu.Unlock()
		before := len(l.fake.Sales())
		rw := &statusWriter{ResponseWriter: w}
		defer func() {
			// Also when the fake drops the connection (it panics with
			// http.ErrAbortHandler, which net/http expects).
			l.requests++
			sales := l.fake.Sales()[before:]
			status := "no answer (connection dropped)"
			if rw.status != 0 {
				status = fmt.Sprintf("%d %s", rw.status, http.StatusText(rw.status))
			}
			l.out.Printf("%s %s %s: %s, %s recorded\n", time.Now().Format("15:04:05"), r.Method, r.URL.Path,
				status, cli.Plural(len(sales), "sale"))
			if l.verbose {
				for _, s := range sales {
					// The send or click a sale was matched by, after the
					// campaign it counted for.
					via := ""
					if strings.TrimSpace(s.SendID) != "" {
						via = " send " + s.SendID
					} else if strings.TrimSpace(s.ClickID) != "" {
						via = " click " + s.ClickID
					}
					l.out.Printf("  %s cell %s soldAt %s value %g%s\n", s.CampaignID, s.Cell, s.SoldAt, s.SaleValue, via)
				}
			}
		}()
		h.ServeHTTP(rw, r)
	})
}

// statusWriter keeps the status written, and lets the fake drop the
// connection through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the connection cannot be taken over")
	}
	return hj.Hijack()
}
