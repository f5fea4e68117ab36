package podurl

import (
	"fmt"
	"net/url"
	"strings"
)

// How pods are named in URLs.
const (
	// ModePath puts pods at http://HOST/{pod}/.
	ModePath = "path"
	// ModeSubdomain puts pods at http://{pod}.HOST/.
	ModeSubdomain = "subdomain"
)

// Scheme maps between pods and the URLs of one server: its base URL and
// its naming mode. It is a small immutable value, built once (New) and
// passed down to every package that names pods in URLs; the zero Scheme
// names nothing (PodOfURL is always false).
type Scheme struct {
	scheme    string // "http" or "https"
	host      string // host[:port], lower case
	subdomain bool
}

// New returns the scheme of a server at base (an absolute http(s) URL
// without path, query or fragment, e.g. "http://localhost:8080"; one
// trailing "/" is allowed) naming pods in mode (ModePath or
// ModeSubdomain; "" means ModePath).
func New(base, mode string) (Scheme, error) {
	u, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return Scheme{}, fmt.Errorf("base URL %q must be an absolute http(s) URL without a path, e.g. http://localhost:8080", base)
	}
	switch mode {
	case "", ModePath, ModeSubdomain:
	default:
		return Scheme{}, fmt.Errorf("pod naming must be %q or %q, not %q", ModePath, ModeSubdomain, mode)
	}
	return Scheme{scheme: u.Scheme, host: strings.ToLower(u.Host), subdomain: mode == ModeSubdomain}, nil
}

// Base returns the server's base URL without a trailing slash.
func (s Scheme) Base() string { return s.scheme + "://" + s.host }

// URLScheme returns "http" or "https".
func (s Scheme) URLScheme() string { return s.scheme }

// Host returns the base URL's host (with its port, if any), in lower case.
func (s Scheme) Host() string { return s.host }

// Mode returns ModePath or ModeSubdomain.
func (s Scheme) Mode() string {
	if s.subdomain {
		return ModeSubdomain
	}
	return ModePath
}

// PodRoot returns the root URL of pod name, ending in "/".
func (s Scheme) PodRoot(name string) string {
	if s.subdomain {
		return s.scheme + "://" + name + "." + s.host + "/"
	}
	return s.scheme + "://" + s.host + "/" + name + "/"
}

// WebID returns the WebID of pod name's owner.
func (s Scheme) WebID(name string) string { return s.PodRoot(name) + "profile/card#me" }

// PodOfHost returns the pod a request's Host header names in subdomain
// mode: sub is the label before the base host and ok is true when host is
// below the base host at all (sub may then still be an invalid name, which
// the caller reports). In path mode ok is always false.
func (s Scheme) PodOfHost(host string) (sub string, ok bool) {
	if !s.subdomain {
		return "", false
	}
	return strings.CutSuffix(strings.ToLower(host), "."+s.host)
}

// PodOfURL maps an absolute URL on this server to its pod and pod-relative
// path (without the leading "/"). ok is false when the URL is not in any
// pod of this server, or not a URL.
func (s Scheme) PodOfURL(u string) (pod, rel string, ok bool) {
	if s.host == "" {
		return "", "", false
	}
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != s.scheme {
		return "", "", false
	}
	host := strings.ToLower(pu.Host)
	if s.subdomain {
		name, ok := strings.CutSuffix(host, "."+s.host)
		if !ok || !ValidName(name) {
			return "", "", false
		}
		return name, strings.TrimPrefix(pu.Path, "/"), true
	}
	if host != s.host {
		return "", "", false
	}
	name, rest, found := strings.Cut(strings.TrimPrefix(pu.Path, "/"), "/")
	if !found || !ValidName(name) {
		return "", "", false
	}
	return name, rest, true
}
