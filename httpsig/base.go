package httpsig

// The signature base of RFC 9421 section 2.5 and the component values of
// sections 2.1 (HTTP fields) and 2.2 (derived components) for requests.

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/dunglas/httpsfv"
)

// errComponent is wrapped when a covered component cannot be computed.
var errComponent = errors.New("cannot compute covered component")

// message is the view of a request the signature base is computed from. The
// signer and the verifier build it from the same target URI form, so both
// sides see the same values.
type message struct {
	method string
	target *url.URL // absolute, scheme and host normalised
	header http.Header
}

// normalizeTarget parses an absolute target URI and normalises its scheme
// and host as RFC 9421 section 2.2.3 asks of @authority: lower case, and
// without the scheme's default port.
func normalizeTarget(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: target URI: %w", errComponent, err)
	}
	if u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("%w: target URI %q is not absolute", errComponent, raw)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	if (u.Scheme == "http" && strings.HasSuffix(u.Host, ":80")) ||
		(u.Scheme == "https" && strings.HasSuffix(u.Host, ":443")) {
		u.Host = u.Host[:strings.LastIndexByte(u.Host, ':')]
	}
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// clientTarget is the target URI of an outgoing request: its URL, with
// req.Host in place of the URL's host when set.
func clientTarget(r *http.Request) string {
	if r.URL == nil {
		return ""
	}
	host := r.URL.Host
	if r.Host != "" {
		host = r.Host
	}
	return r.URL.Scheme + "://" + host + r.URL.RequestURI()
}

// ServerTargetURI is the default target URI of an incoming request: "https"
// when the connection is TLS and "http" otherwise, the Host header, and the
// request target. A server behind a TLS-terminating proxy sets
// Verifier.TargetURI instead.
func ServerTargetURI(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

// requestTarget is the path and query of u, with "/" for an empty path.
func requestTarget(u *url.URL) string {
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" || u.ForceQuery {
		return path + "?" + u.RawQuery
	}
	return path
}

// componentValue returns the value of one covered component with no
// parameters: a derived component (a name starting with "@") or an HTTP
// field named in lower case.
func (m *message) componentValue(name string) (string, error) {
	switch name {
	case "@method":
		return m.method, nil
	case "@target-uri":
		return m.target.Scheme + "://" + m.target.Host + requestTarget(m.target), nil
	case "@authority":
		return m.target.Host, nil
	case "@scheme":
		return m.target.Scheme, nil
	case "@request-target":
		return requestTarget(m.target), nil
	case "@path":
		if p := m.target.EscapedPath(); p != "" {
			return p, nil
		}
		return "/", nil
	case "@query":
		return "?" + m.target.RawQuery, nil
	}
	if strings.HasPrefix(name, "@") {
		return "", fmt.Errorf("%w: derived component %q is not supported", errComponent, name)
	}
	if name == "" || strings.ToLower(name) != name {
		return "", fmt.Errorf("%w: field name %q is not lower case", errComponent, name)
	}
	values := m.header.Values(name)
	if len(values) == 0 {
		return "", fmt.Errorf("%w: field %q is not in the message", errComponent, name)
	}
	// RFC 9421 section 2.1: trim each field line, join them with ", ".
	trimmed := make([]string, len(values))
	for i, v := range values {
		trimmed[i] = strings.Trim(v, " \t")
	}
	return strings.Join(trimmed, ", "), nil
}

// signatureBase builds the signature base of RFC 9421 section 2.5 for the
// covered components and signature parameters in sig. Components with
// parameters, repeated components and "@signature-params" are refused.
func (m *message) signatureBase(sig httpsfv.InnerList) (string, error) {
	var b strings.Builder
	seen := make(map[string]bool, len(sig.Items))
	for _, it := range sig.Items {
		name, ok := it.Value.(string)
		if !ok {
			return "", fmt.Errorf("%w: a component identifier is not a string", errComponent)
		}
		if it.Params != nil && len(it.Params.Names()) > 0 {
			return "", fmt.Errorf("%w: component parameters on %q are not supported", errComponent, name)
		}
		if name == "@signature-params" || seen[name] {
			return "", fmt.Errorf("%w: %q cannot be covered here", errComponent, name)
		}
		seen[name] = true
		value, err := m.componentValue(name)
		if err != nil {
			return "", err
		}
		if strings.ContainsAny(value, "\r\n") {
			return "", fmt.Errorf("%w: value of %q has a line break", errComponent, name)
		}
		id, err := serializeString(name)
		if err != nil {
			return "", err
		}
		b.WriteString(id + ": " + value + "\n")
	}
	params, err := serializeInnerList(sig)
	if err != nil {
		return "", err
	}
	b.WriteString(`"@signature-params": ` + params)
	return b.String(), nil
}
