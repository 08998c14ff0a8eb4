// Package dripcelredis shares one Dripcel rate budget among any number of
// processes through Redis, so a fleet of workers using one organisation
// keeps to the organisation's limit together:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	lim, err := dripcelredis.NewLimiter(rdb, "org-42", dripcel.DefaultRateLimit, dripcel.DefaultRateWindow)
//	client, err := dripcel.NewClient(key, dripcel.WithRateLimiter(lim))
//
// Every process that uses the same key draws from the same budget, whatever
// its number; none needs to know how many others there are. The spacing
// is kept by GCRA (github.com/go-redis/redis_rate) in one Redis script, on
// Redis's clock, so the processes' clocks need not agree.
package dripcelredis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/internal/retry"
	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Limiter is a dripcel.Limiter and dripcel.Pauser kept in Redis. Give it to
// each client with dripcel.WithRateLimiter. It is safe for concurrent use.
type Limiter struct {
	rdb   redis.UniversalClient
	gcra  *redis_rate.Limiter
	key   string // the GCRA key, below redis_rate's own prefix
	pause string // the Redis key of a pause after a 429
	limit redis_rate.Limit
}

// Interfaces this package exists to provide.
var (
	_ dripcel.Limiter = (*Limiter)(nil)
	_ dripcel.Pauser  = (*Limiter)(nil)
)

// NewLimiter returns a limiter for a budget of n requests in any window of
// length per, shared by every process that uses the same key on the same
// Redis (name it after the organisation: "org-42"). The processes must agree
// on n and per. Requests are spaced dripcel.PaceInterval(n, per) apart in
// all, as one client's Pacer spaces its own, so no burst can overrun a
// server that counts in fixed windows.
//
// It makes no request to Redis; the first Wait does.
func NewLimiter(rdb redis.UniversalClient, key string, n int, per time.Duration) (*Limiter, error) {
	switch {
	case rdb == nil:
		return nil, errors.New("dripcelredis: NewLimiter: nil Redis client")
	case strings.TrimSpace(key) == "":
		return nil, errors.New("dripcelredis: NewLimiter: empty key")
	case n < 1 || per <= 0:
		return nil, fmt.Errorf("dripcelredis: NewLimiter: %d requests per %s is not a rate", n, per)
	}
	return &Limiter{
		rdb:   rdb,
		gcra:  redis_rate.NewLimiter(rdb),
		key:   "dripcel:" + key,
		pause: "dripcel:pause:" + key,
		// One request per interval with a burst of one: GCRA then allows
		// a request only once the one before is an interval old. A burst
		// above one would let up to that many through at once (a window
		// of redis_rate.PerMinute(50) lets 50 through in a second), and
		// a request for more than the burst would wait forever.
		limit: redis_rate.Limit{Rate: 1, Burst: 1, Period: dripcel.PaceInterval(n, per)},
	}, nil
}

// Wait returns when one more request may be sent: after any pause a client
// asked for after a 429, and an interval after the last request any process
// was allowed. A wait that would end after ctx's deadline fails at once,
// with an error matching context.DeadlineExceeded (and dripcel.ErrRateLimited
// when it is a pause). A Redis error is returned as it is: no request is
// sent on a budget that cannot be checked.
func (l *Limiter) Wait(ctx context.Context) error {
	for {
		paused, err := l.rdb.PTTL(ctx, l.pause).Result()
		if err != nil {
			return l.redisError(ctx, err)
		}
		if paused > 0 {
			if err := sleep(ctx, paused, true); err != nil {
				return err
			}
			continue
		}
		res, err := l.gcra.AllowN(ctx, l.key, l.limit, 1)
		if err != nil {
			return l.redisError(ctx, err)
		}
		if res.Allowed == 1 {
			return nil
		}
		// Waiters in many processes wake for the same moment; a little
		// jitter spreads their calls to Redis. A denial costs nothing, but
		// the jitter of the waiter that wins is a gap the budget loses, so
		// it is kept to a two-hundredth of the interval (6 ms at 50 a
		// minute): a quarter of a percent of the pace on average.
		wait := res.RetryAfter + time.Duration(rand.Int64N(int64(l.limit.Period/200)+1))
		if err := sleep(ctx, wait, false); err != nil {
			return err
		}
	}
}

// Pause holds back every Wait of every process using the key until d has
// passed, or longer if an earlier pause ends later. The pause lives in Redis
// with an expiry, so it ends on Redis's clock even if no one is left to
// lift it.
func (l *Limiter) Pause(ctx context.Context, d time.Duration) error {
	ms := d.Milliseconds()
	if ms <= 0 {
		return nil
	}
	if err := extendPause.Run(ctx, l.rdb, []string{l.pause}, ms).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("dripcelredis: pause: %w", err)
	}
	return nil
}

// extendPause sets the pause key to expire in ARGV[1] ms, unless it
// already expires later.
var extendPause = redis.NewScript(`
local left = redis.call("PTTL", KEYS[1])
if left < tonumber(ARGV[1]) then
  redis.call("SET", KEYS[1], "1", "PX", ARGV[1])
end
return 0
`)

// redisError is err from Redis, or ctx's error when ctx ended the call.
func (l *Limiter) redisError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return fmt.Errorf("dripcelredis: %w", err)
}

// sleep waits d, or fails at once when d would pass ctx's deadline.
func sleep(ctx context.Context, d time.Duration, pause bool) error {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		if pause {
			return fmt.Errorf("dripcelredis: the pause after a 429 would pass the deadline: %w",
				errors.Join(dripcel.ErrRateLimited, context.DeadlineExceeded))
		}
		return fmt.Errorf("dripcelredis: waiting for the rate limit would pass the deadline: %w", context.DeadlineExceeded)
	}
	return retry.Sleep(ctx, d)
}
