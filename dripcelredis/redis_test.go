package dripcelredis_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisAddr is the Redis the tests use; .ci/run starts one there.
const redisAddr = "127.0.0.1:6379"

// redisClient connects to the test Redis, or skips the test when there is
// none; with DRIPCEL_REQUIRE_SERVICES=1 (as .ci/run sets) it fails instead.
// Each test works on keys of its own, deleted at the end; nothing else in
// the database is touched.
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		if os.Getenv("DRIPCEL_REQUIRE_SERVICES") == "1" {
			t.Fatalf("Redis at %s: %v (DRIPCEL_REQUIRE_SERVICES=1)", redisAddr, err)
		}
		t.Skipf("no Redis at %s (%v); start redis-server there to run this test", redisAddr, err)
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
