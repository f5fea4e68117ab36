package pod

import (
	"errors"
	"net/http"
	"strings"

	"podserver/apierr"
	"podserver/ldp"
	"podserver/podurl"
)

// PodRoot returns the root URL of pod name, ending in "/".
func (s *Server) PodRoot(name string) string { return s.urls.PodRoot(name) }

// WebID returns the WebID of pod name's owner.
func (s *Server) WebID(name string) string { return s.urls.WebID(name) }

// PodOfURL maps an absolute URL on this server to its pod and pod-relative
// path. ok is false when the URL is not in any pod of this server.
func (s *Server) PodOfURL(u string) (pod, rel string, ok bool) { return s.urls.PodOfURL(u) }

// target resolves the pod and storage path a request addresses. top is true
// for server-level paths (not in a pod).
func (s *Server) target(r *http.Request) (t ldp.Target, top bool, err error) {
	// The one decoding of the request's path: the storage path is what
	// the URL names, and ldp.Target.URL writes it back the same.
	path, err := podurl.UnescapePath(r.URL.EscapedPath())
	if errors.Is(err, podurl.ErrEncodedSeparator) {
		return t, false, errEncodedPath
	}
	if err != nil {
		return t, false, apierr.Wrap(http.StatusBadRequest, msgInvalidPath+err.Error(), err)
	}
	var name, rel string
	if s.urls.Mode() == podurl.ModeSubdomain {
		sub, ok := s.urls.PodOfHost(r.Host)
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
