package pod

import (
	"net/http"
	"net/url"
	"strings"

	"podserver/apierr"
	"podserver/ldp"
	"podserver/podurl"
)

// PodRoot returns the root URL of pod name, ending in "/".
func (s *Server) PodRoot(name string) string {
	b := s.baseURL()
	if s.opts.PodNaming == NamingSubdomain {
		return b.Scheme + "://" + name + "." + b.Host + "/"
	}
	return b.String() + "/" + name + "/"
}

// WebID returns the WebID of pod name's owner.
func (s *Server) WebID(name string) string { return s.PodRoot(name) + "profile/card#me" }

// PodOfURL maps an absolute URL on this server to its pod and pod-relative
// path. ok is false when the URL is not in any pod of this server.
func (s *Server) PodOfURL(u string) (pod, rel string, ok bool) {
	pu, err := url.Parse(u)
	if err != nil {
		return "", "", false
	}
	b := s.baseURL()
	if pu.Scheme != b.Scheme {
		return "", "", false
	}
	p := pu.Path
	if s.opts.PodNaming == NamingSubdomain {
		name, ok := strings.CutSuffix(pu.Host, "."+b.Host)
		if !ok || !podurl.ValidName(name) {
			return "", "", false
		}
		return name, strings.TrimPrefix(p, "/"), true
	}
	if pu.Host != b.Host {
		return "", "", false
	}
	name, rest, found := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if !found || !podurl.ValidName(name) {
		return "", "", false
	}
	return name, rest, true
}

// target resolves the pod and storage path a request addresses. top is true
// for server-level paths (not in a pod).
func (s *Server) target(r *http.Request) (t ldp.Target, top bool, err error) {
	esc := r.URL.EscapedPath()
	low := strings.ToLower(esc)
	if strings.Contains(low, "%2f") || strings.Contains(low, "%5c") || strings.Contains(low, "%00") {
		return t, false, errEncodedPath
	}
	path := r.URL.Path
	var name, rel string
	if s.opts.PodNaming == NamingSubdomain {
		b := s.baseURL()
		host := strings.ToLower(r.Host)
		sub, ok := strings.CutSuffix(host, "."+strings.ToLower(b.Host))
		if !ok {
			return t, true, nil
		}
		if !podurl.ValidName(sub) {
			return t, false, apierr.Newf(http.StatusNotFound, msgNoPodAtHost, r.Host)
		}
		name, rel = sub, strings.TrimPrefix(path, "/")
	} else {
		first, rest, found := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		if first == "" || podurl.Reserved(first) || strings.HasPrefix(first, ".") {
			return t, true, nil
		}
		if !podurl.ValidName(first) {
			return t, false, apierr.Newf(http.StatusNotFound, msgBadPodName, first)
		}
		if !found {
			return t, false, apierr.Newf(http.StatusNotFound, msgPodRoot, s.PodRoot(first))
		}
		name, rel = first, rest
	}
	if err := ldp.CleanPath(rel); err != nil {
		return t, false, apierr.Wrap(http.StatusBadRequest, msgInvalidPath+err.Error(), err)
	}
	return ldp.Target{Pod: name, Path: ldp.StoragePath(name, rel), Root: s.PodRoot(name)}, false, nil
}
