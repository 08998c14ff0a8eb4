package wire

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzDecode: any body decodes without panicking, and what Decode calls the
// envelope is what encoding/json reads as one.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		r := Decode(body)
		var env struct {
			OK    *bool           `json:"ok"`
			Error json.RawMessage `json:"error"`
		}
		trimmed := bytes.TrimSpace(body)
		isEnvelope := len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &env) == nil && env.OK != nil
		if r.Envelope != isEnvelope {
			t.Fatalf("Decode(%q).Envelope = %v, want %v", body, r.Envelope, isEnvelope)
		}
		if !isEnvelope {
			if r != (Reply{}) {
				t.Fatalf("Decode(%q) = %+v from a body that is not the envelope", body, r)
			}
			return
		}
		if r.OK != *env.OK {
			t.Fatalf("Decode(%q).OK = %v", body, r.OK)
		}
		var msg string
		if json.Unmarshal(env.Error, &msg) == nil && r.Message != msg {
			t.Fatalf("Decode(%q).Message = %q, want %q", body, r.Message, msg)
		}
	})
}

// FuzzExcerpt: any body gives a bounded, valid, single-line, printable
// excerpt, and a short printable body is kept as it is.
func FuzzExcerpt(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, limit uint16) {
		n := int(limit % 1024)
		out := Excerpt(body, n)
		if !utf8.ValidString(out) {
			t.Fatalf("Excerpt(%q, %d) = %q: not UTF-8", body, n, out)
		}
		// Each byte kept may become a 3-byte U+FFFD; "…" marks a cut.
		if len(out) > 3*n+len("…") {
			t.Fatalf("Excerpt(%q, %d) is %d bytes", body, n, len(out))
		}
		for _, r := range out {
			if !unicode.IsGraphic(r) {
				t.Fatalf("Excerpt(%q, %d) = %q holds %U", body, n, out, r)
			}
		}
		plain := len(body) <= n && len(body) > 0 && body[0] != ' ' && body[len(body)-1] != ' '
		for _, b := range body {
			plain = plain && b >= 0x20 && b < 0x7f
		}
		if plain && out != string(body) {
			t.Fatalf("Excerpt(%q, %d) = %q, want it unchanged", body, n, out)
		}
		// Without a cut, a trailing "…" can only be the body's own (which
		// may be followed by characters Excerpt drops, such as a NUL).
		if strings.HasSuffix(out, "…") && len(bytes.TrimSpace(body)) <= n && !bytes.Contains(body, []byte("…")) {
			t.Fatalf("Excerpt(%q, %d) = %q marks a cut that did not happen", body, n, out)
		}
	})
}
