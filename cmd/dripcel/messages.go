package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/dripcel-go/dripcel"
)

// shownValue is how much of a value a message quotes: enough to find it in
// the file, short enough that a runaway cell cannot flood the terminal.
const shownValue = 40

// quote quotes s for a message, cut at a readable length with its full
// length given: "aaaa…" (1048576 bytes).
func quote(s string) string {
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

// plain words an error from the library for a person: one "dripcel:"
// prefix (added by run), and a hint where the cause is the key.
func plain(err error) string {
	msg := strings.ReplaceAll(err.Error(), "dripcel: ", "")
	var apiErr *dripcel.APIError
	if errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden) {
		return fmt.Sprintf("Dripcel refused the key (%d %s): check that %s holds a current key with the sale.create permission",
			apiErr.StatusCode, http.StatusText(apiErr.StatusCode), envKey)
	}
	if errors.Is(err, dripcel.ErrNotFromDripcel) {
		msg += fmt.Sprintf("; something other than Dripcel answered (a proxy, or a wrong address: check %s or --base-url); sending again is safe", envBaseURL)
	}
	return msg
}
