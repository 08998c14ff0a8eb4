package main

import (
	"os"
	"strings"

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
	base := f.baseURL
	if base == "" {
		base = os.Getenv(envBaseURL)
	}
	if f.retries < 0 {
		return nil, usageError("--retries %d is negative", f.retries)
	}
	opts = append(opts, dripcel.WithMaxRetries(f.retries), dripcel.WithUserAgent("dripcel-cli"))
	if base != "" {
		opts = append(opts, dripcel.WithBaseURL(base))
	}
	c, err := dripcel.NewClient(key, opts...)
	if err != nil {
		return nil, usageError("%s", strings.TrimPrefix(err.Error(), "dripcel: "))
	}
	return c, nil
}
