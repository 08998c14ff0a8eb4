package dripceltest

import (
	"html"
	"io"
	"net/http"
	"strconv"
)

// ProxyPage returns the HTML error page nginx sends for status: what a
// proxy, a gateway or a firewall in front of Dripcel answers with. Give it
// to Respond:
//
//	srv.Respond(1, 404, "text/html", dripceltest.ProxyPage(404))
func ProxyPage(status int) string {
	line := strconv.Itoa(status) + " " + http.StatusText(status)
	return "<html>\r\n<head><title>" + line + "</title></head>\r\n<body>\r\n<center><h1>" + line +
		"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
}

// expressPage is the page Express's final handler sends, in production,
// for what it answers itself (a route it does not have, a body over the
// parser's limit), msg escaped.
func expressPage(msg string) string {
	return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n" +
		"</head>\n<body>\n<pre>" + html.EscapeString(msg) + "</pre>\n</body>\n</html>\n"
}

// writePage answers with an Express page rather than Dripcel's envelope,
// with the headers Express sends beside it.
func (s *Server) writePage(w http.ResponseWriter, rec *Request, status int, body string) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	s.writeRaw(w, rec, status, "text/html; charset=utf-8", body)
}

// writeRaw records rec with status and answers with contentType and body
// exactly as given; an empty contentType sends no Content-Type at all.
func (s *Server) writeRaw(w http.ResponseWriter, rec *Request, status int, contentType, body string) {
	rec.Status = status
	s.record(rec)
	if contentType == "" {
		w.Header()["Content-Type"] = nil // no sniffing either
	} else {
		w.Header().Set("Content-Type", contentType)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// readBody reads an upload's body. A body over the limit is answered 413
// before the key is looked at, as an app-wide body parser would, and ok is
// false; it is read to its end (the excess discarded) so that a client
// still sending gets the 413 rather than a reset connection.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, rec *Request) (body []byte, ok bool) {
	limit := int64(s.maxBody)
	var err error
	if r.ContentLength <= limit {
		body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
	}
	if r.ContentLength > limit || int64(len(body)) > limit {
		_, _ = io.Copy(io.Discard, r.Body)
		s.writePage(w, rec, http.StatusRequestEntityTooLarge, expressPage("Payload Too Large"))
		return nil, false
	}
	if err != nil {
		s.write(w, rec, reply{http.StatusBadRequest, "Could not read body"})
		return nil, false
	}
	rec.Bytes = len(body)
	return body, true
}
