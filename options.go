package dripcel

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"
)

// Default settings of a Client. Each can be changed with an Option.
const (
	// DefaultBaseURL is Dripcel's API.
	DefaultBaseURL = "https://api.dripcel.com"
	// DefaultMaxRetries is how many times an attempt that failed for a
	// fault (a network error, 500, 502, 503, 504) is retried. A 429 is not
	// a fault and spends none of them: see DefaultMaxRateLimitWaits.
	DefaultMaxRetries = 3
	// DefaultRetryWaitMin and DefaultRetryWaitMax bound the backoff between
	// attempts after a fault (a Retry-After from the server may ask for
	// longer): 500 ms and 10 s with Dripcel's one-minute budget. A longer
	// or shorter window set by WithRateLimit scales them in step (a window
	// of two minutes: 1 s and 20 s) unless WithRetryWait sets them.
	DefaultRetryWaitMin = 500 * time.Millisecond
	DefaultRetryWaitMax = 10 * time.Second
	// DefaultRateLimit and DefaultRateWindow are Dripcel's documented
	// budget, "about 50 requests per minute per organisation": a client
	// paces itself to it unless told otherwise (see WithRateLimit).
	DefaultRateLimit  = 50
	DefaultRateWindow = time.Minute
	// DefaultMaxRateLimitWaits is how many 429 answers in a row one call
	// waits out before it fails with ErrRateLimited (see
	// WithMaxRateLimitWaits). Each wait lasts the Retry-After, or without
	// one the budget's window (a minute by default), so a call holds on for
	// about five windows of a budget someone else is spending; a context
	// deadline ends it sooner.
	DefaultMaxRateLimitWaits = 5
	// DefaultTimeout bounds one attempt: connecting, sending and reading the
	// response.
	DefaultTimeout = 30 * time.Second
	// DefaultBatchSize is how many sales one upload request holds at most:
	// 0, no limit by count. Requests are cut by their size instead, as full
	// as DefaultMaxBatchBytes allows: Dripcel limits requests, not sales, so
	// a full request carries the most sales per request of its budget.
	DefaultBatchSize = 0
	// DefaultMaxBatchBytes bounds an upload request body. Dripcel does not
	// document its limit; an Express service such as Dripcel's API refuses
	// JSON bodies over "100kb", 102,400 bytes, by default (answering 413;
	// measured on a real Express server). A client that meets a 413 lowers
	// its own bound, searching for the largest body Dripcel takes, but
	// never below the largest it has taken, and probes upward again after
	// a run of accepted requests (see WithMaxBatchBytes).
	DefaultMaxBatchBytes = 102_400
)

// Option configures a Client in NewClient.
type Option func(*config) error

type config struct {
	baseURL       string
	httpClient    *http.Client
	logger        *slog.Logger
	maxRetries    int
	rateWaits     int
	retryWaitMin  time.Duration
	retryWaitMax  time.Duration
	retryWaitSet  bool
	batchSize     int
	maxBatchBytes int
	userAgent     string
	timeout       time.Duration
	timeoutSet    bool
	cellRegion    string
	now           func() time.Time
	concurrency   int
	rateN         int
	rateWindow    time.Duration
	rateLimiter   Limiter // WithRateLimiter; nil for a Pacer at the budget
	unpaced       bool    // WithoutPacing
	meters        metric.MeterProvider
	tracers       trace.TracerProvider
	ledger        Ledger // WithLedger; nil for none
	ledgerResend  bool   // WithLedgerResend
}

func defaultConfig() config {
	return config{
		baseURL:       DefaultBaseURL,
		maxRetries:    DefaultMaxRetries,
		rateWaits:     DefaultMaxRateLimitWaits,
		retryWaitMin:  DefaultRetryWaitMin,
		retryWaitMax:  DefaultRetryWaitMax,
		batchSize:     DefaultBatchSize,
		maxBatchBytes: DefaultMaxBatchBytes,
		timeout:       DefaultTimeout,
		now:           time.Now,
		concurrency:   1,
		rateN:         DefaultRateLimit,
		rateWindow:    DefaultRateWindow,
	}
}

// WithBaseURL sends requests to another address, such as a dripceltest
// server. A path prefix is kept: with "http://host/prefix" an upload goes to
// "http://host/prefix/sales".
func WithBaseURL(u string) Option {
	return func(c *config) error {
		c.baseURL = u
		return nil
	}
}

// WithHTTPClient makes requests through hc's Transport, CheckRedirect and
// Jar, and bounds each attempt by hc's Timeout when it is set (not zero)
// and WithTimeout is not given; otherwise by DefaultTimeout. hc itself is
// never modified. Use it for proxies, private certificate authorities or
// test transports.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("dripcel: WithHTTPClient: nil *http.Client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithLogger sends the client's logs to l: requests and responses at Debug,
// retries at Info. Nothing is logged without it. Log lines never hold the API
// key, query strings or request bodies.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}

// WithMaxRetries sets how many times an attempt that failed for a fault (a
// network error, 500, 502, 503, 504) is retried (0 for none). Default 3, so
// at most 4 requests per call or batch for faults. A 429 spends none of
// them: it is waited out up to WithMaxRateLimitWaits times in a row.
func WithMaxRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("dripcel: WithMaxRetries: %d is negative", n)
		}
		c.maxRetries = n
		return nil
	}
}

// WithMaxRateLimitWaits sets how many 429 answers in a row one call waits
// out (default DefaultMaxRateLimitWaits) before it fails with
// ErrRateLimited; the error's APIError.RetryAfter says when to send again.
// With 0 every 429 is handed back at once, for a caller that schedules its
// own resends. These waits spend none of WithMaxRetries. Whatever n is, a
// 429 still holds back the client's other requests (and every user of a
// shared Pauser) for its wait.
func WithMaxRateLimitWaits(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("dripcel: WithMaxRateLimitWaits: %d is negative", n)
		}
		c.rateWaits = n
		return nil
	}
}

// WithRetryWait bounds the backoff between attempts after a fault: it
// starts at min and grows exponentially, with jitter, up to max (so a min
// of 0 retries at once, without backoff). Without it the bounds are 500 ms
// and 10 s, scaled in step with a window set by WithRateLimit (a window of
// two minutes: 1 s and 20 s). A Retry-After from the server is
// obeyed above max, up to 60 seconds (or the window, if longer); one that
// would end after the context's deadline fails the call at once instead.
func WithRetryWait(minWait, maxWait time.Duration) Option {
	return func(c *config) error {
		if minWait < 0 || maxWait < 0 {
			return errors.New("dripcel: WithRetryWait: negative wait")
		}
		if minWait > maxWait {
			return fmt.Errorf("dripcel: WithRetryWait: min %s is above max %s", minWait, maxWait)
		}
		c.retryWaitMin, c.retryWaitMax, c.retryWaitSet = minWait, maxWait, true
		return nil
	}
}

// WithBatchSize sets how many sales one upload request holds at most; 0,
// the default, sets no limit by count and requests are cut by size alone
// (WithMaxBatchBytes). A small batch costs more of Dripcel's request budget
// for the same sales.
func WithBatchSize(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("dripcel: WithBatchSize: %d is negative", n)
		}
		c.batchSize = n
		return nil
	}
}

// WithMaxBatchBytes sets the largest upload request body, in bytes
// (default DefaultMaxBatchBytes). Should Dripcel answer 413 even so, the
// batch is split and sent again, and the client lowers its bound for later
// requests: never below the largest body Dripcel has accepted from it
// (unless 413s for bodies that size keep coming), and only for a while:
// after a run of accepted requests that the bound limited, the next is cut
// at n again, to see whether the 413 still holds. A refused probe costs one
// request and doubles the run before the next, up to 256 requests.
func WithMaxBatchBytes(n int) Option {
	return func(c *config) error {
		if n < 1024 {
			return fmt.Errorf("dripcel: WithMaxBatchBytes: %d is below 1024", n)
		}
		c.maxBatchBytes = n
		return nil
	}
}

// WithUserAgent adds ua after "dripcel-go/<version>" in the User-Agent
// header, to name your application in Dripcel's logs.
func WithUserAgent(ua string) Option {
	return func(c *config) error {
		c.userAgent = ua
		return nil
	}
}

// WithTimeout bounds each attempt (0 for no bound). The whole call, retries
// and waits included, is bounded by the context you pass.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("dripcel: WithTimeout: %s is negative", d)
		}
		c.timeout, c.timeoutSet = d, true
		return nil
	}
}

// WithCellRegion converts every sale's cell to international digits, reading
// local numbers as numbers of region (an ISO 3166 code such as "ZA"), before
// sending. Campaigns V2 need international cells. A cell that cannot be
// converted (by ToInternational's rules: a mobile number too short for its
// region, say) fails validation with ErrInvalidCell and nothing is sent.
func WithCellRegion(region string) Option {
	return func(c *config) error {
		r, err := normalizeRegion(region)
		if err != nil {
			return fmt.Errorf("dripcel: WithCellRegion: %w", err)
		}
		c.cellRegion = r
		return nil
	}
}

// WithConcurrency lets an upload send up to n batches at once (default 1,
// one after another). Errors are reported in the order of the sales whatever
// order the answers come in, and an upload then holds up to n+1 batches in
// memory. Dripcel limits requests per minute, not connections, so more than
// a few only helps against a slow network; the pacing (WithRateLimit) keeps
// them all within the budget.
func WithConcurrency(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("dripcel: WithConcurrency: %d is below 1", n)
		}
		c.concurrency = n
		return nil
	}
}

// WithRateLimit sets the rate budget the client keeps to: at most n
// requests in any window of length per, uploads, postbacks and retries
// alike. The default is Dripcel's documented budget, 50 a minute
// (DefaultRateLimit, DefaultRateWindow).
//
// The client spaces its requests evenly with a Pacer, PaceInterval(n, per)
// apart, so it never sends a burst that a server counting in fixed windows
// would refuse, and a large upload paces itself instead of collecting 429
// answers. A 429 is taken as the budget being spent, not as a fault: the
// client waits the Retry-After, or without one the window, before sending
// again, and these waits spend none of WithMaxRetries (see
// WithMaxRateLimitWaits). The fault backoff scales with the window too, unless
// WithRetryWait sets it.
//
// A wait ends with the context; one that would pass the context's deadline
// fails at once with an error matching context.DeadlineExceeded.
//
// The budget belongs to the organisation: clients that share its key, in
// one process or many, must share one limiter (WithRateLimiter, and
// package dripcelredis across processes). WithRateLimiter and WithoutPacing
// replace the Pacer; the window still times the wait after a 429.
func WithRateLimit(n int, per time.Duration) Option {
	return func(c *config) error {
		if n < 1 || per <= 0 {
			return fmt.Errorf("dripcel: WithRateLimit: %d requests per %s is not a rate", n, per)
		}
		c.rateN, c.rateWindow = n, per
		return nil
	}
}

// WithRateLimiter paces requests with l instead of a Pacer of the client's
// own. Share one limiter among all the clients that use the same
// organisation: a *Pacer within one process, a dripcelredis.Limiter across
// processes. If l is a Pauser it is told of each 429, so that all its users
// hold back together. An x/time/rate *rate.Limiter works too; give it a
// burst of 1 so that it cannot overrun a fixed window. The budget's window
// (WithRateLimit) still times the wait after a 429. The last of
// WithRateLimiter and WithoutPacing given wins.
func WithRateLimiter(l Limiter) Option {
	return func(c *config) error {
		if l == nil || l == (*rate.Limiter)(nil) || l == (*Pacer)(nil) {
			return errors.New("dripcel: WithRateLimiter: nil limiter")
		}
		c.rateLimiter, c.unpaced = l, false
		return nil
	}
}

// WithoutPacing turns pacing off: each request is sent as soon as it is
// ready, as fast as Dripcel answers. Use it when something outside the
// client already paces the requests. A 429 is still waited out as
// WithRateLimit describes, and holds back the client's other requests. The
// last of WithRateLimiter and WithoutPacing given wins.
func WithoutPacing() Option {
	return func(c *config) error {
		c.rateLimiter, c.unpaced = nil, true
		return nil
	}
}

// limiter is the limiter cfg describes: nil for none.
func (c config) limiter() Limiter {
	switch {
	case c.unpaced:
		return nil
	case c.rateLimiter != nil:
		return c.rateLimiter
	}
	p, _ := NewPacer(c.rateN, c.rateWindow) // WithRateLimit checked them
	return p
}

// WithMeterProvider sends the client's metrics to mp instead of the global
// MeterProvider (otel.GetMeterProvider). The instruments, their units and
// attributes are listed in the README's "Operating" section; none carries
// a cell, a key or a campaign.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) error {
		c.meters = mp
		return nil
	}
}

// WithTracerProvider sends the client's spans to tp instead of the global
// TracerProvider (otel.GetTracerProvider): a client span for every request
// sent (retries included), named by its method, with the URL without its
// query; and a span around each UploadSales and UploadSalesSeq, with its
// sales counted by fate.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) error {
		c.tracers = tp
		return nil
	}
}
