package dripcel

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/time/rate"
)

// Default settings of a Client. Each can be changed with an Option.
const (
	// DefaultBaseURL is Dripcel's API.
	DefaultBaseURL = "https://api.dripcel.com"
	// DefaultMaxRetries is how many times a failed attempt is retried.
	DefaultMaxRetries = 3
	// DefaultRetryWaitMin and DefaultRetryWaitMax bound the backoff between
	// attempts (a Retry-After from the server may ask for longer).
	DefaultRetryWaitMin = 500 * time.Millisecond
	DefaultRetryWaitMax = 10 * time.Second
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
	// JSON bodies over 100 KB by default (answering 413). A client that
	// meets a 413 lowers its own bound, searching for the largest body
	// Dripcel takes.
	DefaultMaxBatchBytes = 100_000
)

// Option configures a Client in NewClient.
type Option func(*config) error

type config struct {
	baseURL       string
	httpClient    *http.Client
	logger        *slog.Logger
	maxRetries    int
	retryWaitMin  time.Duration
	retryWaitMax  time.Duration
	batchSize     int
	maxBatchBytes int
	userAgent     string
	timeout       time.Duration
	timeoutSet    bool
	cellRegion    string
	now           func() time.Time
	concurrency   int
	rateLimiter   *rate.Limiter
}

func defaultConfig() config {
	return config{
		baseURL:       DefaultBaseURL,
		maxRetries:    DefaultMaxRetries,
		retryWaitMin:  DefaultRetryWaitMin,
		retryWaitMax:  DefaultRetryWaitMax,
		batchSize:     DefaultBatchSize,
		maxBatchBytes: DefaultMaxBatchBytes,
		timeout:       DefaultTimeout,
		now:           time.Now,
		concurrency:   1,
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

// WithMaxRetries sets how many times a failed attempt is retried (0 for
// none). Default 3, so at most 4 requests per call or batch.
func WithMaxRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("dripcel: WithMaxRetries: %d is negative", n)
		}
		c.maxRetries = n
		return nil
	}
}

// WithRetryWait bounds the backoff between attempts: it starts at min and
// grows exponentially, with jitter, up to max (so a min of 0 retries at
// once, without backoff). A Retry-After from the server
// is obeyed above max, up to 60 seconds; one that would end after the
// context's deadline fails the call at once instead.
func WithRetryWait(minWait, maxWait time.Duration) Option {
	return func(c *config) error {
		if minWait < 0 || maxWait < 0 {
			return errors.New("dripcel: WithRetryWait: negative wait")
		}
		if minWait > maxWait {
			return fmt.Errorf("dripcel: WithRetryWait: min %s is above max %s", minWait, maxWait)
		}
		c.retryWaitMin, c.retryWaitMax = minWait, maxWait
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
// requests.
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
// converted fails validation with ErrInvalidCell and nothing is sent.
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
// a few only helps against a slow network; combine with WithRateLimit.
func WithConcurrency(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("dripcel: WithConcurrency: %d is below 1", n)
		}
		c.concurrency = n
		return nil
	}
}

// WithRateLimit spaces the client's requests (uploads, postbacks and
// retries alike) at least per/n apart, so that a large upload paces itself
// instead of collecting 429 answers. Dripcel allows an organisation about 50
// requests a minute: WithRateLimit(45, time.Minute) keeps a margin. A wait
// ends with the context; one that would pass the context's deadline fails at
// once with an error matching context.DeadlineExceeded.
func WithRateLimit(n int, per time.Duration) Option {
	return func(c *config) error {
		if n < 1 || per <= 0 {
			return fmt.Errorf("dripcel: WithRateLimit: %d requests per %s is not a rate", n, per)
		}
		c.rateLimiter = rate.NewLimiter(rate.Every(per/time.Duration(n)), 1)
		return nil
	}
}

// WithRateLimiter paces requests with l, which may be shared: Dripcel's
// limit is per organisation, so clients in one process that use the same
// key should share one limiter. It replaces WithRateLimit.
func WithRateLimiter(l *rate.Limiter) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("dripcel: WithRateLimiter: nil *rate.Limiter")
		}
		c.rateLimiter = l
		return nil
	}
}
