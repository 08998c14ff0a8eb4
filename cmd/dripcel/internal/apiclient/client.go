// Package apiclient builds the dripcel.Client of the commands that talk to
// Dripcel, from DRIPCEL_API_KEY and the flags they share.
package apiclient

import (
	"net/url"
	"os"
	"strings"
	"unicode"

	"github.com/dripcel-go/dripcel"
	"github.com/dripcel-go/dripcel/cmd/dripcel/internal/cli"
	"github.com/spf13/cobra"
)

// Flags are the flags of the commands that talk to Dripcel.
type Flags struct {
	BaseURL string
	Retries int
	// Key, when set, is used instead of DRIPCEL_API_KEY (by demo only).
	Key string
}

// Register adds the flags to cmd.
func (f *Flags) Register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.BaseURL, "base-url", "",
		"API address (default $"+cli.EnvBaseURL+", else "+dripcel.DefaultBaseURL+")")
	// 429 is not among the faults: the library waits a 429 out apart
	// (--rate-limit-wait), spending none of these.
	cmd.Flags().IntVar(&f.Retries, "retries", dripcel.DefaultMaxRetries,
		"times a request that failed (a network error, a 5xx) is sent again; waits for the rate limit (429) spend none of them")
}

// errNoKey is the refusal when DRIPCEL_API_KEY is not set.
var errNoKey = cli.Usage("%s is not set: export %s=<key> (an API key with the sale.create permission); "+
	"the key is read only from the environment, never from a flag", cli.EnvKey, cli.EnvKey)

// NewClient builds a client from DRIPCEL_API_KEY and the flags. A missing
// key is refused here, before any file is read.
func (f *Flags) NewClient(opts ...dripcel.Option) (*dripcel.Client, error) {
	key, base, err := f.resolve()
	if err != nil {
		return nil, err
	}
	return f.newClient(key, base, opts)
}

// resolve is the key and base URL the flags and environment give (base is
// empty for the library's default), checked.
func (f *Flags) resolve() (key, base string, err error) {
	key = f.Key
	if key == "" {
		key = os.Getenv(cli.EnvKey)
	}
	if strings.TrimSpace(key) == "" {
		return "", "", errNoKey
	}
	if strings.TrimSpace(key) != key || strings.ContainsFunc(key, unicode.IsControl) {
		return "", "", cli.Usage("%s has spaces or control characters around or in it (a trailing newline from a file?): "+
			"export it without them", cli.EnvKey)
	}
	base = f.BaseURL
	if base == "" {
		base = os.Getenv(cli.EnvBaseURL)
	}
	if f.Retries < 0 {
		return "", "", cli.Usage("--retries %d is negative", f.Retries)
	}
	if base != "" {
		if err := checkBaseURL(base); err != nil {
			return "", "", err
		}
	}
	return key, base, nil
}

func (f *Flags) newClient(key, base string, opts []dripcel.Option) (*dripcel.Client, error) {
	opts = append(opts, dripcel.WithMaxRetries(f.Retries), dripcel.WithUserAgent("dripcel-cli"))
	if base != "" {
		opts = append(opts, dripcel.WithBaseURL(base))
	}
	c, err := dripcel.NewClient(key, opts...)
	if err != nil {
		return nil, cli.Usage("%s", cli.WithoutGoNames(err))
	}
	return c, nil
}

// checkBaseURL refuses an address the library would refuse, in the terms
// of the flag rather than of the library's options.
func checkBaseURL(base string) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cli.Usage("--base-url or %s %s is not an address such as %s or http://127.0.0.1:8080",
			cli.EnvBaseURL, cli.Quote(base), dripcel.DefaultBaseURL)
	}
	return nil
}
