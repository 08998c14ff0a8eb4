package dripcel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/dripcel-go/dripcel/internal/retry"
	"github.com/dripcel-go/dripcel/internal/transport"
	"github.com/dripcel-go/dripcel/internal/wire"
	"github.com/hashicorp/go-retryablehttp"
)

// Version is this library's version, sent in the User-Agent header.
const Version = "0.1.0"

// maxBodyRead bounds how much of a response body is read: Dripcel's answers
// are tiny, and an error page of many megabytes must not be held in memory.
const maxBodyRead = 64 << 10

// maxBodyExcerpt bounds the part of an unexpected body kept in an APIError.
const maxBodyExcerpt = 200

// Client talks to the Dripcel Sales API. Create it with NewClient. It is safe
// for concurrent use by many goroutines.
type Client struct {
	tel        *telemetry
	key        string
	base       *url.URL
	http       *retryablehttp.Client
	logger     *slog.Logger
	userAgent  string
	batchSize  int
	cellRegion string

	// Performance: see batch.go and pace.go.
	concurrency int
	limiter     Limiter // nil: no pacing; see pace.go
	hold        hold    // the pause after a 429
	policy      retry.Policy
	bodies      transport.BodyPool
	bodyCap     *bodyCap
	batches     sync.Pool     // of *batch, whose slices are reused
	split       splitStrategy // see settle.go
	headers     struct{ userAgent, json []string }
	baseString  string // base.String()

	// paceGap is the budget's PaceInterval, for sizing a LeasedQueue's
	// claims (queue_lease.go).
	paceGap time.Duration
	// The ledger (ledger.go): nil for none.
	ledger       Ledger
	ledgerResend bool
	scope        [32]byte // ledgerScope of the key and base URL
}

// NewClient returns a client that authenticates with apiKey (an API key with
// the "sale.create" permission). It fails on an empty key or a bad option;
// it makes no request.
func NewClient(apiKey string, opts ...Option) (*Client, error) {
	if strings.TrimSpace(apiKey) == "" {
		return nil, errors.New("dripcel: NewClient: empty API key")
	}
	// A key read from a file often keeps its newline: net/http would then
	// refuse every request with an error that does not say why.
	if strings.TrimSpace(apiKey) != apiKey || strings.ContainsFunc(apiKey, unicode.IsControl) {
		return nil, errors.New("dripcel: NewClient: the API key has surrounding spaces or control characters (a trailing newline?)")
	}
	cfg := defaultConfig()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	base, err := parseBaseURL(cfg.baseURL)
	if err != nil {
		return nil, err
	}
	logger := cfg.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	tel := newTelemetry(cfg.meters, cfg.tracers)
	c := &Client{
		tel:        tel,
		key:        apiKey,
		base:       base,
		logger:     logger,
		userAgent:  userAgent(cfg.userAgent),
		batchSize:  cfg.batchSize,
		cellRegion: cfg.cellRegion,

		concurrency: cfg.concurrency,
		limiter:     cfg.limiter(),
		policy:      newPolicy(cfg),
		bodyCap:     newBodyCap(cfg.maxBatchBytes),
	}
	c.baseString = base.String()
	c.paceGap = PaceInterval(cfg.rateN, cfg.rateWindow)
	if cfg.ledger != nil {
		c.ledger, c.ledgerResend = cfg.ledger, cfg.ledgerResend
		c.scope = ledgerScope(apiKey, c.baseString)
	}
	c.headers.userAgent = []string{c.userAgent}
	c.headers.json = []string{"application/json"}
	// The policy counts faults and 429s apart and bounds both; the waits
	// it chooses are taken in PrepareRetry, where the call's context is.
	c.http = &retryablehttp.Client{
		HTTPClient:     innerHTTPClient(cfg, apiKey, base, tel),
		RetryWaitMin:   c.policy.MinWait,
		RetryWaitMax:   c.policy.MaxWait,
		RetryMax:       c.policy.MaxAttempts(),
		CheckRetry:     c.checkRetry,
		Backoff:        retry.NoWait,
		PrepareRetry:   c.prepareRetry,
		RequestLogHook: c.logAttempt,
		// Without an ErrorHandler, retryablehttp drops the last response
		// (and so its status) once retries run out.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		// Logger stays nil: retryablehttp's own log lines hold full URLs.
	}
	return c, nil
}

// innerHTTPClient is the client below the retry layer. It copies what it
// needs from the caller's client, which it never modifies, and puts the key
// on requests in its transport.
func innerHTTPClient(cfg config, key string, base *url.URL, tel *telemetry) *http.Client {
	rt := http.DefaultTransport
	hc := &http.Client{Timeout: cfg.timeout}
	if cfg.httpClient != nil {
		if cfg.httpClient.Transport != nil {
			rt = cfg.httpClient.Transport
		}
		hc.Jar = cfg.httpClient.Jar
		// A zero Timeout is http.Client's "not set", as in the common
		// &http.Client{Transport: tr}: it keeps the default bound rather
		// than silently removing it. WithTimeout(0) removes it.
		if !cfg.timeoutSet && cfg.httpClient.Timeout > 0 {
			hc.Timeout = cfg.httpClient.Timeout
		}
	}
	// The per-attempt bound is kept by the transport with a context
	// deadline, not by http.Client.Timeout: net/http enforces the latter
	// for a RoundTripper of its own with a context deadline too, but for
	// any other (Auth here) with a timer and two goroutines per request.
	timeout := hc.Timeout
	hc.Timeout = 0
	hc.CheckRedirect = refuseRedirect
	// Spans and request metrics are taken above the key's transport, which
	// the URL they see has not been through.
	hc.Transport = &tracing{tel: tel,
		base: &transport.Auth{Base: rt, Key: key, Scheme: base.Scheme, Host: base.Host, Timeout: timeout}}
	return hc
}

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		// url.Parse quotes the input, which may hold credentials.
		return nil, errors.New("dripcel: WithBaseURL: the base URL does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("dripcel: WithBaseURL: scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("dripcel: WithBaseURL: the base URL has no host")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("dripcel: WithBaseURL: the base URL must not have a query or fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func userAgent(extra string) string {
	ua := fmt.Sprintf("dripcel-go/%s (%s; %s/%s)", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if extra = strings.TrimSpace(extra); extra != "" {
		ua += " " + extra
	}
	return ua
}

// String describes the client without its key.
func (c *Client) String() string {
	return fmt.Sprintf("dripcel.Client{BaseURL: %q}", transport.URL(c.base))
}

// GoString is String, so %#v does not print the key either.
func (c *Client) GoString() string { return c.String() }

// Format prints String for every verb, so no fmt verb can reach the key.
func (c *Client) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, c.String()) }

// request is one API call: the retry layer repeats it as needed.
type request struct {
	method    string
	path      string // below the base URL, e.g. "/sales"
	rawQuery  string
	body      []byte
	pooled    *transport.Body // sent instead of body when set; see batch.go
	placement transport.Placement
}

// attempts counts the requests made for one call; the retry layer's request
// hook fills it in. tally is what the retries spent (retrying.go); body is
// the last answer's body, read by checkRetry (verdict.go).
type attempts struct {
	n     int
	tally retry.Tally
	body  []byte
}

type attemptsKey struct{}

// do sends r with retries and returns nil for a success, an *APIError for a
// refusal, or a transport or context error. Errors never hold the key or the
// query string.
func (c *Client) do(ctx context.Context, r request) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("dripcel: %s %s: %w", r.method, r.path, err)
	}
	count := &attempts{}
	ctx = context.WithValue(ctx, attemptsKey{}, count)
	ctx = transport.WithPlacement(ctx, r.placement)

	// The URL as a string from the base's, built once: url.URL.String
	// would rebuild it on every request.
	var target string
	if r.rawQuery != "" {
		target = c.baseString + r.path + "?" + r.rawQuery // one allocation, not two
	} else {
		target = c.baseString + r.path
	}

	if err := c.pace(ctx); err != nil {
		return fmt.Errorf("dripcel: %s %s: %w", r.method, r.path, err)
	}
	var body any
	switch {
	case r.pooled != nil:
		body = retryablehttp.ReaderFunc(r.pooled.Reader)
	case r.body != nil:
		body = r.body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return fmt.Errorf("dripcel: %s %s: %w", r.method, r.path, transport.Redact(transport.StripURLError(err), c.key, r.rawQuery))
	}
	// Canonical keys and values built once: Header.Set would allocate
	// both on every request. net/http never modifies header values.
	req.Header["User-Agent"] = c.headers.userAgent
	req.Header["Accept"] = c.headers.json
	if body != nil {
		req.Header["Content-Type"] = c.headers.json
	}

	// The attributes of a log line, and the clock they read, cost even
	// when the logger drops them: check first.
	debug := c.logger.Enabled(ctx, slog.LevelDebug)
	var start time.Time
	if debug {
		start = time.Now()
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The pass-through error handler hands back the last response along
		// with a context error; its body must still be closed.
		if resp != nil {
			_ = resp.Body.Close()
		}
		err = transport.Redact(transport.StripURLError(err), c.key, r.rawQuery)
		if debug {
			c.logger.LogAttrs(ctx, slog.LevelDebug, "dripcel: request failed",
				slog.String("method", r.method), slog.String("path", r.path),
				slog.Int("attempts", count.n), slog.Duration("elapsed", time.Since(start)),
				slog.String("error", err.Error()))
		}
		if count.n > 1 {
			return fmt.Errorf("dripcel: %s %s: giving up after %d attempts: %w", r.method, r.path, count.n, err)
		}
		return fmt.Errorf("dripcel: %s %s: %w", r.method, r.path, err)
	}
	defer func() { _ = resp.Body.Close() }()

	// A read error is not returned: a cut-off body is decoded as far as it
	// goes, and is then not Dripcel's envelope.
	raw := count.body
	if raw == nil {
		raw = readReply(resp)
	}
	if debug {
		c.logger.LogAttrs(ctx, slog.LevelDebug, "dripcel: response",
			slog.String("method", r.method), slog.String("path", r.path),
			slog.Int("status", resp.StatusCode), slog.Int("attempts", count.n),
			slog.Duration("elapsed", time.Since(start)))
	}

	reply := wire.Decode(raw)
	v := readVerdict(resp.StatusCode, reply)
	if v == verdictRecorded {
		return nil
	}
	u := *c.base
	u.Path += r.path
	// Message, Code and Body are the server's words: bounded and kept to
	// one printable line, as they end up in the caller's logs. A server may
	// echo the request (a message quoting the key, a proxy's page quoting
	// the URL): the key and the query are cut out before anything is kept.
	excerpt := func(s string) string {
		s, _ = transport.Scrub(s, c.key, r.rawQuery)
		return wire.Excerpt([]byte(s), maxBodyExcerpt)
	}
	apiErr := &APIError{
		StatusCode:  resp.StatusCode,
		Message:     excerpt(reply.Message),
		Code:        excerpt(reply.Code),
		Method:      r.method,
		URL:         transport.URL(&u),
		Attempts:    count.n,
		FromDripcel: reply.Envelope && v != verdictForeign,
	}
	if v == verdictForeign {
		apiErr.ContentType = excerpt(resp.Header.Get("Content-Type"))
		apiErr.Location = location(resp, c.key, r.rawQuery)
	}
	if d, ok := c.policy.ResumeAfter(resp); ok {
		apiErr.RetryAfter = d
	}
	if !reply.Envelope {
		apiErr.Body = excerpt(string(raw))
	}
	if apiErr.Message == "" {
		apiErr.Message = http.StatusText(resp.StatusCode)
	}
	// The retry layer stopped early because the wait asked for would end
	// after the context's deadline: say so, so the caller can tell it from
	// retries running out.
	if count.tally.PastDeadline {
		return fmt.Errorf("%w: the wait ends after the context deadline: %w", apiErr, context.DeadlineExceeded)
	}
	return apiErr
}

// readReply reads at most maxBodyRead bytes of resp's body, then drains a
// little more so the connection can be reused, but never a whole oversized
// body. A body of announced length is read into one buffer of that size: an
// answer from Dripcel is a dozen bytes, and io.ReadAll's growing buffer cost
// more than the rest of reading the response.
func readReply(resp *http.Response) []byte {
	// Zero is left to the general path: a RoundTripper that builds its own
	// responses (a test mock) may leave ContentLength zero with a body.
	if n := resp.ContentLength; n > 0 && n <= maxBodyRead {
		buf := make([]byte, n)
		k, err := io.ReadFull(resp.Body, buf)
		if err == nil {
			// Reading the last byte of a body of known length also
			// reads its end, so the connection is free again.
			return buf
		}
		return buf[:k]
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyRead))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyRead))
	return raw
}

// logAttempt is the retry layer's request hook: it counts attempts and logs
// the retries. req here carries neither the key nor, in what is logged, the
// query.
func (c *Client) logAttempt(_ retryablehttp.Logger, req *http.Request, i int) {
	ctx := req.Context()
	if a, ok := ctx.Value(attemptsKey{}).(*attempts); ok {
		a.n = i + 1
	}
	level := slog.LevelDebug
	msg := "dripcel: request"
	if i > 0 {
		level = slog.LevelInfo
		msg = "dripcel: retrying request"
	}
	if c.logger.Enabled(ctx, level) {
		c.logger.LogAttrs(ctx, level, msg,
			slog.String("method", req.Method), slog.String("url", transport.URL(req.URL)),
			slog.Int("attempt", i+1))
	}
}
