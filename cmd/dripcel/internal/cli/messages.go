package cli

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/dripcel-go/dripcel"
)

// Environment variables the tool reads.
const (
	EnvKey     = "DRIPCEL_API_KEY"
	EnvBaseURL = "DRIPCEL_BASE_URL"
)

// shownValue is how much of a value a message quotes: enough to find it in
// the file, short enough that a runaway cell cannot flood the terminal.
const shownValue = 40

// Quote quotes s for a message, cut at a readable length with its full
// length given: "aaaa…" (1048576 bytes).
func Quote(s string) string {
	if utf8.RuneCountInString(s) <= shownValue {
		return fmt.Sprintf("%q", s)
	}
	n := 0
	for i := range s {
		if n == shownValue {
			return fmt.Sprintf("%q… (%d bytes)", s[:i], len(s))
		}
		n++
	}
	return fmt.Sprintf("%q", s)
}

// Plain words an error from the library for a person: one "dripcel:"
// prefix (added by main), and a hint where the cause is the key.
func Plain(err error) string {
	msg := strings.ReplaceAll(err.Error(), "dripcel: ", "")
	var apiErr *dripcel.APIError
	if errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden) {
		return fmt.Sprintf("Dripcel refused the key (%d %s): check that %s holds a current key with the sale.create permission",
			apiErr.StatusCode, http.StatusText(apiErr.StatusCode), EnvKey)
	}
	if errors.Is(err, dripcel.ErrNotFromDripcel) {
		msg += fmt.Sprintf("; something other than Dripcel answered (a proxy, or a wrong address: check %s or --base-url); sending again is safe", EnvBaseURL)
	}
	return msg
}

// goName is a Go identifier at the start of a library message
// ("NewClient: ", "WithTimeout: "), which means nothing on the command line.
var goName = regexp.MustCompile(`(^|: )[A-Z][A-Za-z]+: `)

// WithoutGoNames words a library error for the command line.
func WithoutGoNames(err error) string {
	return goName.ReplaceAllString(Plain(err), "$1")
}

// List joins words as a sentence does: "a", "a and b", "a, b and c".
func List(words []string, conj string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}

// QuoteAll lists values, each quoted, cut short for a list that is not
// one (a binary file's header read as text, say).
func QuoteAll(ss []string) string {
	const most = 20
	q := make([]string, 0, min(len(ss), most))
	for i, s := range ss {
		if i == most {
			q = append(q, fmt.Sprintf("… and %d more", len(ss)-most))
			break
		}
		q = append(q, Quote(s))
	}
	return strings.Join(q, ", ")
}
