package upload_test

import (
	"regexp"
	"strings"
	"testing"
)

// TestMessages checks that errors read as a person's messages: one
// "dripcel:" prefix, the key named where it is at fault, no Go names.
func TestMessages(t *testing.T) {
	srv := newServer(t)
	path := writeFile(t, "sales.csv", threeSales)
	goName := regexp.MustCompile(`\b(NewClient|With[A-Z][A-Za-z]+|UploadSales|Postback)\b`)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"wrong key", map[string]string{"DRIPCEL_API_KEY": "canary-wrong-6d1f", "DRIPCEL_BASE_URL": srv.URL},
			[]string{"upload", "--quiet", path}, 3,
			"dripcel: upload stopped: Dripcel refused the key (401 Unauthorized): check that DRIPCEL_API_KEY holds a current key with the sale.create permission"},
		{"key with a newline", map[string]string{"DRIPCEL_API_KEY": srv.Key + "\n", "DRIPCEL_BASE_URL": srv.URL},
			[]string{"upload", path}, 2, "DRIPCEL_API_KEY has spaces or control characters"},
		{"base URL without a scheme", map[string]string{"DRIPCEL_API_KEY": srv.Key},
			[]string{"upload", "--base-url", "127.0.0.1:8080", path}, 2, `--base-url or DRIPCEL_BASE_URL "127.0.0.1:8080" is not an address such as https://`},
		{"negative retries", env(srv), []string{"upload", "--retries", "-1", path}, 2, "--retries -1 is negative"},
		{"bad time zone", env(srv), []string{"upload", "--time-zone", "Mars/Olympus", path}, 2, `--time-zone "Mars/Olympus" is not a known zone`},
		{"bad --sold-at", env(srv), []string{"upload", "--sold-at", "soon", path}, 2, `--sold-at "soon" is not a date`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.env, tc.args...)
			r.WantCode(t, tc.code)
			wantContains(t, "stderr", r.Stderr, tc.want)
			if strings.Count(r.Stderr, "dripcel:") > 1 || goName.MatchString(r.Stderr) {
				t.Errorf("stderr repeats the prefix or names Go code:\n%s", r.Stderr)
			}
		})
	}
}
