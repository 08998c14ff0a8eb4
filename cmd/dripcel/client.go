package main

import (
	"net/url"
	"os"
	"regexp"
	"strings"
	"unicode"

	"github.com/dripcel-go/dripcel"
	"github.com/spf13/cobra"
)

// clientFlags are the flags of the commands that talk to Dripcel.
type clientFlags struct {
	baseURL string
	retries int
	// key, when set, is used instead of DRIPCEL_API_KEY (by demo only).
	key string
}

func (f *clientFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.baseURL, "base-url", "",
		"API address (default $"+envBaseURL+", else "+dripcel.DefaultBaseURL+")")
	cmd.Flags().IntVar(&f.retries, "retries", dripcel.DefaultMaxRetries,
		"times a failed request (network error, 429, 5xx) is retried")
}

// errNoKey is the refusal when DRIPCEL_API_KEY is not set.
var errNoKey = usageError("%s is not set: export %s=<key> (an API key with the sale.create permission); "+
	"the key is read only from the environment, never from a flag", envKey, envKey)

// newClient builds a client from DRIPCEL_API_KEY and the flags. A missing
// key is refused here, before any file is read.
func (f *clientFlags) newClient(opts ...dripcel.Option) (*dripcel.Client, error) {
	key := f.key
	if key == "" {
		key = os.Getenv(envKey)
	}
	if strings.TrimSpace(key) == "" {
		return nil, errNoKey
	}
	if strings.TrimSpace(key) != key || strings.ContainsFunc(key, unicode.IsControl) {
		return nil, usageError("%s has spaces or control characters around or in it (a trailing newline from a file?): "+
			"export it without them", envKey)
	}
	base := f.baseURL
	if base == "" {
		base = os.Getenv(envBaseURL)
	}
	if f.retries < 0 {
		return nil, usageError("--retries %d is negative", f.retries)
	}
	opts = append(opts, dripcel.WithMaxRetries(f.retries), dripcel.WithUserAgent("dripcel-cli"))
	if base != "" {
		if err := checkBaseURL(base); err != nil {
			return nil, err
		}
		opts = append(opts, dripcel.WithBaseURL(base))
	}
	c, err := dripcel.NewClient(key, opts...)
	if err != nil {
		return nil, usageError("%s", withoutGoNames(err))
	}
	return c, nil
}

// checkBaseURL refuses an address the library would refuse, in the terms
// of the flag rather than of the library's options.
func checkBaseURL(base string) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError("--base-url or %s %s is not an address such as %s or http://127.0.0.1:8080",
			envBaseURL, quote(base), dripcel.DefaultBaseURL)
	}
	return nil
}

// goName is a Go identifier at the start of a library message
// ("NewClient: ", "WithTimeout: "), which means nothing on the command line.
var goName = regexp.MustCompile(`(^|: )[A-Z][A-Za-z]+: `)

// withoutGoNames words a library error for the command line.
func withoutGoNames(err error) string {
	return goName.ReplaceAllString(plain(err), "$1")
}
