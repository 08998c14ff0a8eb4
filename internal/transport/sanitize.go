package transport

import (
	"errors"
	"net/url"
)

// URL returns u without its query, fragment or user information: the postback
// query holds the customer's cell number, and a user-supplied base URL may
// hold credentials.
func URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return c.String()
}

// StripURLError rewrites the URL inside any *url.Error in err's chain to the
// form URL gives, so that errors from net/http name the endpoint but not the
// query.
func StripURLError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	if u, perr := url.Parse(ue.URL); perr == nil {
		ue.URL = URL(u)
	} else {
		ue.URL = ""
	}
	return err
}
