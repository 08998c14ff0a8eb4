package dripcelredis_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dripcel-go/dripcel/dripceltest"
	"github.com/dripcel-go/dripcel/internal/testsvc"
	"github.com/redis/go-redis/v9"
)

// TestMain says, in one line, which tests were skipped for want of Redis.
func TestMain(m *testing.M) { testsvc.Main(m) }

// redisAddr is the Redis the tests use (DRIPCEL_TEST_REDIS_ADDR, or the
// local one that .ci/run starts). It is read while a test runs, not when
// the package starts, so that go test's cache knows the result depends on
// it.
func redisAddr() string { return testsvc.RedisAddr() }

// redisClient connects to the test Redis, or skips the test when there is
// none; with DRIPCEL_REQUIRE_SERVICES=1 (as .ci/run sets) it fails instead.
// Each test works on keys of its own, deleted at the end; nothing else in
// the database is touched.
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr(), DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		testsvc.Missing(t, "Redis", redisAddr(), testsvc.RedisAddrEnv, err)
	}
	return rdb
}

// testKey is a key no other test, run or process uses, whose Redis keys
// are deleted when the test ends.
func testKey(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	key := fmt.Sprintf("test:%s:%d", strings.ReplaceAll(t.Name(), "/", ":"), time.Now().UnixNano())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = rdb.Del(ctx, "rate:dripcel:"+key, "dripcel:pause:"+key).Err()
	})
	return key
}

// campaign is the campaign the tests' sales are for.
const campaign = "639978184d735c88ed8bbd68"

// budgetServer starts a fake Dripcel that keeps a budget in fixed windows,
// as express-rate-limit does by default: n requests in each window w, 429
// beyond (without Retry-After, as Dripcel documents none), and bodies of at
// most 102,400 bytes.
func budgetServer(t *testing.T, n int, w time.Duration) *dripceltest.Server {
	t.Helper()
	return dripceltest.NewServer(t, dripceltest.WithFixedWindow(n, w),
		dripceltest.WithCampaigns(dripceltest.Campaign{ID: campaign, Country: "ZA"}))
}

// budgetStats is what a budget server saw.
type budgetStats struct {
	requests, limited, tooLarge, sales int
	bytes                              int // the bodies of accepted uploads
	maxInWindow                        int // the most requests in any span of a window
	first, last                        time.Time
}

func statsOf(srv *dripceltest.Server, w time.Duration) budgetStats {
	st := statsOfRequests(srv.Requests())
	st.maxInWindow = srv.MaxInWindow(w)
	return st
}

// statsOfRequests is what a budget server saw in reqs, but the most in
// any window.
func statsOfRequests(reqs []dripceltest.Request) budgetStats {
	st := budgetStats{requests: len(reqs)}
	for i, r := range reqs {
		if i == 0 || r.At.Before(st.first) {
			st.first = r.At
		}
		if r.At.After(st.last) {
			st.last = r.At
		}
		st.sales += r.Stored
		switch r.Status {
		case http.StatusTooManyRequests:
			st.limited++
		case http.StatusRequestEntityTooLarge:
			st.tooLarge++
		case http.StatusOK:
			st.bytes += r.Bytes
		}
	}
	return st
}
