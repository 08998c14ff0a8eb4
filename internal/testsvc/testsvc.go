// Package testsvc finds the outside services some tests need: PostgreSQL
// for the outbox, Redis for the shared rate budget. Without one, its tests
// are skipped, so that a newcomer's `go test ./...` passes; with
// DRIPCEL_REQUIRE_SERVICES=1 (as .ci/run sets) they fail instead. Either
// way the run says so in one line per package, since go test shows nothing
// of a passing package but its "ok".
package testsvc

import (
	"fmt"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The variables that point the tests elsewhere.
const (
	// RequireEnv set to 1 turns a missing service into a failure.
	RequireEnv = "DRIPCEL_REQUIRE_SERVICES"
	// DatabaseURLEnv is the PostgreSQL the tests use, as a URL.
	DatabaseURLEnv = "DRIPCEL_TEST_DATABASE_URL"
	// RedisAddrEnv is the Redis the tests use, as host:port.
	RedisAddrEnv = "DRIPCEL_TEST_REDIS_ADDR"
)

// DatabaseURL is where the tests find PostgreSQL: DRIPCEL_TEST_DATABASE_URL,
// or the local server with trust authentication and a database "test".
func DatabaseURL() string {
	if u := os.Getenv(DatabaseURLEnv); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// RedisAddr is where the tests find Redis: DRIPCEL_TEST_REDIS_ADDR, or the
// local server on its usual port.
func RedisAddr() string {
	if a := os.Getenv(RedisAddrEnv); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// skipped counts, by service, the tests skipped for want of it in this
// test binary. It is the one shared state of the package: the line printed
// at the end of the run sums every test's skip.
var skipped = struct {
	sync.Mutex
	n   map[string]int
	why map[string]string
}{n: map[string]int{}, why: map[string]string{}}

// Missing ends t because service, looked for at where, could not be
// reached (err): a skip naming the variable that points elsewhere, or a
// failure under DRIPCEL_REQUIRE_SERVICES=1.
func Missing(t testing.TB, service, where, env string, err error) {
	t.Helper()
	if u, perr := url.Parse(where); perr == nil && u.User != nil {
		where = u.Redacted() // a password in the URL is not printed
	}
	reason := strings.Join(strings.Fields(err.Error()), " ")
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s is required (%s=1) and is not at %s: %s", service, RequireEnv, where, reason)
	}
	skipped.Lock()
	skipped.n[service]++
	skipped.why[service] = fmt.Sprintf("none at %s; start one there or set %s", where, env)
	skipped.Unlock()
	t.Skipf("no %s at %s (%s): start one there or set %s to run this test", service, where, reason, env)
}

// Main runs the tests, says which were skipped and why, and exits.
func Main(m *testing.M) {
	code := m.Run()
	Announce()
	os.Exit(code)
}

// Announce prints one line naming the tests skipped for want of a service,
// if any were. go test hides a passing package's output, so on Linux the
// line goes to the go command's own standard error, which is the
// terminal or the CI log; elsewhere it is seen with go test -v.
func Announce() {
	skipped.Lock()
	defer skipped.Unlock()
	if len(skipped.n) == 0 {
		return
	}
	services := make([]string, 0, len(skipped.n))
	for s := range skipped.n {
		services = append(services, s)
	}
	sort.Strings(services)
	var parts []string
	for _, s := range services {
		tests := "tests"
		if skipped.n[s] == 1 {
			tests = "test"
		}
		parts = append(parts, fmt.Sprintf("%d %s skipped: no %s (%s)", skipped.n[s], tests, s, skipped.why[s]))
	}
	line := fmt.Sprintf("%s: %s; %s=1 makes this a failure\n", packageName(), strings.Join(parts, "; "), RequireEnv)
	w := os.Stderr
	if runtime.GOOS == "linux" {
		if f, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/2", os.Getppid()), os.O_WRONLY|os.O_APPEND, 0); err == nil {
			defer func() { _ = f.Close() }()
			w = f
		}
	}
	_, _ = fmt.Fprint(w, line)
}

// packageName is the name of the package under test, from the test
// binary's name ("dripcelpg.test").
func packageName() string {
	name := os.Args[0]
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	return strings.TrimSuffix(strings.TrimSuffix(name, ".exe"), ".test")
}
