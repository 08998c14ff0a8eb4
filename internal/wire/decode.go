package wire

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Reply is what could be read from a response body.
type Reply struct {
	// Envelope reports whether the body was Dripcel's JSON envelope.
	Envelope bool
	// OK is the envelope's "ok" field; false when absent.
	OK bool
	// Message and Code come from the envelope's "error" field, which is a
	// string on the sales endpoints and {code, message} on some others.
	Message string
	Code    string
}

type envelope struct {
	OK    *bool           `json:"ok"`
	Error json.RawMessage `json:"error"`
}

type errorObject struct {
	Code    json.RawMessage `json:"code"`
	Message string          `json:"message"`
	Error   string          `json:"error"`
}

// Decode reads a response body. It never fails: a body that is not the
// envelope (HTML from a proxy, plain text, truncated JSON) gives a Reply with
// Envelope false and the caller falls back to the status code.
func Decode(body []byte) Reply {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return Reply{}
	}
	if string(body) == `{"ok":true}` {
		return Reply{Envelope: true, OK: true} // every success, without a decoder
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil || env.OK == nil {
		return Reply{}
	}
	r := Reply{Envelope: true, OK: *env.OK}
	raw := bytes.TrimSpace(env.Error)
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
	case raw[0] == '"':
		_ = json.Unmarshal(raw, &r.Message)
	case raw[0] == '{':
		var obj errorObject
		if json.Unmarshal(raw, &obj) == nil {
			r.Message = obj.Message
			if r.Message == "" {
				r.Message = obj.Error
			}
			r.Code = rawScalar(obj.Code)
		}
	default:
		r.Message = string(raw)
	}
	return r
}

// rawScalar renders a JSON code that may be a string or a number.
func rawScalar(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	}
	if _, err := strconv.ParseFloat(string(raw), 64); err == nil {
		return string(raw)
	}
	return ""
}

// Excerpt returns at most max bytes of body as printable, single-line text,
// cut on a rune boundary, for error messages about bodies that were not the
// envelope.
func Excerpt(body []byte, max int) string {
	body = bytes.TrimSpace(body)
	cut := len(body) > max
	if cut {
		body = body[:max]
	}
	var b strings.Builder
	b.Grow(len(body))
	for len(body) > 0 {
		r, size := utf8.DecodeRune(body)
		body = body[size:]
		switch {
		case r == utf8.RuneError && size == 1 && cut && len(body) < utf8.UTFMax:
			// Most likely a rune split by the cut: drop it rather than show
			// a replacement character that was never in the body.
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case !unicode.IsGraphic(r):
			// Other controls, line and paragraph separators and bidi
			// overrides would break a log line or disguise what follows.
		default:
			b.WriteRune(r)
		}
	}
	if cut {
		b.WriteString("…")
	}
	return b.String()
}
