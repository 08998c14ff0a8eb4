package dripcel_test

import (
	"strings"
	"testing"

	"github.com/dripcel-go/dripcel"
)

// TestNewClientRejectsMalformedKey: a key with a trailing newline (read from
// a file) or other control characters would fail every request with an
// obscure net/http error; NewClient refuses it at once, without quoting it.
func TestNewClientRejectsMalformedKey(t *testing.T) {
	const key = "canary_Sk_7f3a"
	for _, bad := range []string{key + "\n", key + "\r\n", " " + key, key + " ", "canary\x00_Sk", "canary\t_Sk"} {
		c, err := dripcel.NewClient(bad)
		if err == nil || c != nil {
			t.Errorf("NewClient(%q) = %v, %v; want an error", bad, c, err)
			continue
		}
		if strings.Contains(err.Error(), "canary") {
			t.Errorf("error quotes the key: %v", err)
		}
	}
	if _, err := dripcel.NewClient("canary_Sk+/=&?#%_7f3a"); err != nil {
		t.Errorf("a key of printable characters was refused: %v", err)
	}
}
