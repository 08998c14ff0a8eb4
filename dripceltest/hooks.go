package dripceltest

import "net/http"

// Handler returns the server's HTTP handler, to serve the fake on an address
// of your choosing (a fixed port for a command-line tool, say) or behind
// middleware that logs what it is sent. Requests served through it are
// answered, recorded and subject to faults exactly as requests to s.URL are;
// s.URL keeps serving too.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }
