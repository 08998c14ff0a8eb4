package dripcel

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Reporter defaults; each can be changed with a ReporterOption.
const (
	// defaultFlushInterval keeps a steady trickle of sales to about 12
	// requests a minute, well under Dripcel's rate limit of about 50.
	defaultFlushInterval = 5 * time.Second
	defaultQueueSize     = 20000
	// defaultMaxBatch is a batch of about 15 full requests: the client
	// cuts a batch into requests by size and its last request is part
	// full, so the larger the batch the fuller the requests on average.
	// It is half the queue, so a batch in flight leaves room to Report.
	defaultMaxBatch = 10000
)

// ReporterOption configures a Reporter in NewReporter.
type ReporterOption func(*reporterConfig) error

type reporterConfig struct {
	spoolPath    string
	queue        Queue
	interval     time.Duration
	maxBatch     int // 0: the client's batch size
	queueSize    int
	waitWhenFull bool
	onRejected   func(Sale, error)
}

// WithSpool keeps every reported sale in the file at path (created if
// missing) until Dripcel has settled it, so that sales survive a crash or a
// restart: a new Reporter on the same file sends what was left, in order.
// Report returns only once the sale is on disk. The file must be a spool or
// not exist; anything else is refused and left untouched. One Reporter at a
// time may use a spool file.
func WithSpool(path string) ReporterOption {
	return func(c *reporterConfig) error {
		if strings.TrimSpace(path) == "" {
			return errors.New("dripcel: WithSpool: empty path")
		}
		c.spoolPath = path
		return nil
	}
}

// WithFlushInterval sets how long a sale may wait for its batch to fill
// before it is sent anyway. Default 5 seconds.
func WithFlushInterval(d time.Duration) ReporterOption {
	return func(c *reporterConfig) error {
		if d <= 0 {
			return fmt.Errorf("dripcel: WithFlushInterval: %s is not positive", d)
		}
		c.interval = d
		return nil
	}
}

// WithMaxBatch sets how many sales one upload holds at most; a batch that
// fills is sent at once. Default: the client's WithBatchSize if it set one,
// else 10000 (the client cuts a batch into requests by size). From a
// LeasedQueue (WithQueue with package dripcelpg) a batch is also no larger
// than the client's budget sends within one lease term.
func WithMaxBatch(n int) ReporterOption {
	return func(c *reporterConfig) error {
		if n < 1 {
			return fmt.Errorf("dripcel: WithMaxBatch: %d is below 1", n)
		}
		c.maxBatch = n
		return nil
	}
}

// WithQueueSize bounds how many unsettled sales the in-memory queue holds.
// Default 20000. When it is full, Report returns ErrQueueFull at once (see
// WithWaitWhenFull). It does not apply with WithSpool or WithQueue, whose
// sales wait on disk.
func WithQueueSize(n int) ReporterOption {
	return func(c *reporterConfig) error {
		if n < 1 {
			return fmt.Errorf("dripcel: WithQueueSize: %d is below 1", n)
		}
		c.queueSize = n
		return nil
	}
}

// WithWaitWhenFull makes Report wait for room, until its context ends,
// when the in-memory queue is full, instead of returning ErrQueueFull at
// once. Only for callers whose context has a deadline they can afford: a
// checkout handler's context usually has none.
func WithWaitWhenFull() ReporterOption {
	return func(c *reporterConfig) error {
		c.waitWhenFull = true
		return nil
	}
}

// WithQueue makes the Reporter keep its sales in q instead of memory: a
// Queue of your own, or the PostgreSQL outbox of package dripcelpg, into
// which many instances of a service write sales in their own transactions
// and from which one of them at a time delivers. The Reporter closes q in
// Close. It cannot be combined with WithSpool.
func WithQueue(q Queue) ReporterOption {
	return func(c *reporterConfig) error {
		if q == nil {
			return errors.New("dripcel: WithQueue: nil Queue")
		}
		c.queue = q
		return nil
	}
}

// WithOnRejected sets f to be called once for each sale Dripcel refuses
// for its content (unknown campaign, malformed sale, any other 4xx but 401,
// 403, 408, 409 and 429, in Dripcel's own answer), with the refusal. The
// sale carries its Ref, so the refusal can be traced to its order. Such
// sales are not retried. f is also called, with a *ValidationError, for a
// sale found in a shared Queue that this Reporter's client will not send
// (another instance's client, with other checks, enqueued it): it could
// never get Dripcel's verdict, and would block the sales behind it.
// f runs on the Reporter's sending work, one call at a time, as Dripcel
// answers each request: it must return promptly and
// must not call Flush or Close, nor Report, which may wait for room in the
// queue that only this goroutine can make. After a crash, a sale whose
// rejection was being recorded may be handed to f again by the next
// Reporter. On a FencedQueue (dripcelpg's outbox) f is called only once the
// refusal is kept: a holder that lost the lease while the sale was refused
// does not call f for it, the instance that sends it next does.
func WithOnRejected(f func(Sale, error)) ReporterOption {
	return func(c *reporterConfig) error {
		c.onRejected = f
		return nil
	}
}
