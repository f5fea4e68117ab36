package podurl

import (
	"fmt"
	"net"
	"net/url"
	"slices"
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
	// aliases are other hosts (host[:port], lower case) that name this
	// server: URLs with them are this server's too (PodOfURL), though
	// the server only ever writes URLs with host.
	aliases []string
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
	s := Scheme{scheme: u.Scheme, host: strings.ToLower(u.Host), subdomain: mode == ModeSubdomain}
	// A server on the loopback interface is reached as localhost and as
	// 127.0.0.1 alike: each names it.
	if h, port, err := net.SplitHostPort(s.host); err == nil {
		switch h {
		case "localhost":
			s.aliases = append(s.aliases, net.JoinHostPort("127.0.0.1", port), net.JoinHostPort("::1", port))
		case "127.0.0.1", "::1":
			s.aliases = append(s.aliases, net.JoinHostPort("localhost", port))
		}
	} else {
		switch s.host {
		case "localhost":
			s.aliases = append(s.aliases, "127.0.0.1", "[::1]")
		case "127.0.0.1", "[::1]":
			s.aliases = append(s.aliases, "localhost")
		}
	}
	return s, nil
}

// WithAliases returns s with more names of this server: hosts (host or
// host:port) or base URLs whose host is taken. URLs naming the server by
// any of them are this server's (PodOfURL, PodOfWebID, PodOfHost).
func (s Scheme) WithAliases(names ...string) (Scheme, error) {
	out := s
	out.aliases = append([]string(nil), s.aliases...)
	for _, n := range names {
		h := n
		if strings.Contains(n, "://") {
			u, err := url.Parse(n)
			if err != nil || u.Host == "" {
				return Scheme{}, fmt.Errorf("alias %q is neither a host nor a base URL", n)
			}
			h = u.Host
		}
		h = strings.ToLower(h)
		if h == "" || strings.ContainsAny(h, "/?#@ ") {
			return Scheme{}, fmt.Errorf("alias %q is not a host name, e.g. pods.example or 10.0.0.5:8080", n)
		}
		if h != s.host && !slices.Contains(out.aliases, h) {
			out.aliases = append(out.aliases, h)
		}
	}
	return out, nil
}

// Aliases returns the other hosts that name this server.
func (s Scheme) Aliases() []string { return slices.Clone(s.aliases) }

// names reports whether host (host[:port], any case) names this server.
func (s Scheme) names(host string) bool {
	host = strings.ToLower(host)
	return host == s.host || slices.Contains(s.aliases, host)
}

// under returns the label before one of this server's names in host, for
// subdomain naming.
func (s Scheme) under(host string) (string, bool) {
	host = strings.ToLower(host)
	if sub, ok := strings.CutSuffix(host, "."+s.host); ok {
		return sub, true
	}
	for _, a := range s.aliases {
		if sub, ok := strings.CutSuffix(host, "."+a); ok {
			return sub, true
		}
	}
	return "", false
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

// URL returns the URL of the resource at pod-relative storage path rel
// (decoded, e.g. "notes/a#b.txt") of pod name, its segments escaped by
// EscapePath; PodOfURL gives pod and rel back.
func (s Scheme) URL(name, rel string) string { return s.PodRoot(name) + EscapePath(rel) }

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
	return s.under(host)
}

// PodOfURL maps an absolute URL on this server to its pod and pod-relative
// storage path (without the leading "/"), decoding the URL's path exactly
// once (UnescapePath), so that it reverses URL. ok is false when the URL
// is not in any pod of this server, not a URL, or its path holds an escape
// UnescapePath refuses.
func (s Scheme) PodOfURL(u string) (pod, rel string, ok bool) {
	if s.host == "" {
		return "", "", false
	}
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != s.scheme {
		return "", "", false
	}
	p, err := UnescapePath(pu.EscapedPath())
	if err != nil {
		return "", "", false
	}
	if s.subdomain {
		name, ok := s.under(pu.Host)
		if !ok || !ValidName(name) {
			return "", "", false
		}
		return name, strings.TrimPrefix(p, "/"), true
	}
	if !s.names(pu.Host) {
		return "", "", false
	}
	name, rest, found := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if !found || !ValidName(name) {
		return "", "", false
	}
	return name, rest, true
}

// PodOfWebID returns the pod whose owner's WebID u is, naming this server
// by its host or an alias: the pod's profile document with the fragment
// "me". ok is false for any other URL. The pod may not exist.
func (s Scheme) PodOfWebID(u string) (pod string, ok bool) {
	doc, frag, found := strings.Cut(u, "#")
	if !found || frag != "me" || strings.Contains(doc, "?") {
		return "", false
	}
	pod, rel, ok := s.PodOfURL(doc)
	if !ok || rel != "profile/card" {
		return "", false
	}
	return pod, true
}

// OnServer reports whether u is a URL of this server: its scheme, and its
// host (or a subdomain of it, in subdomain naming) or an alias. It may
// still be in no pod.
func (s Scheme) OnServer(u string) bool {
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != s.scheme || s.host == "" {
		return false
	}
	if s.names(pu.Host) {
		return true
	}
	_, ok := s.under(pu.Host)
	return ok && s.subdomain
}
