package pod

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/acl"
	"podserver/apierr"
	webconsole "podserver/console"
	"podserver/idp"
	"podserver/jsoncheck"
	"podserver/ldp"
)

// routeIDP labels the identity provider's requests in logs and metrics.
const routeIDP = "idp"

// Owner API paths of the identity provider (pod-relative).
const (
	passwordPath = settingsDir + "password"
	clientsPath  = settingsDir + "clients/"
	appsPath     = settingsDir + "apps/"
)

// profilePath is the pod-relative path of a pod's WebID profile.
const profilePath = "profile/card"

// DemoPassword is the login password of every demo pod (serve --demo),
// public like the demo keys.
const DemoPassword = "demo-password-public"

// newIDP builds the server's identity provider (package idp): the issuer
// is the base URL with a trailing slash; its state is in the store.
func newIDP(s *Server) (*idp.Provider, error) {
	return idp.New(idp.Config{
		Store:      s.st,
		Issuer:     s.Issuer(),
		Pods:       idpPods{s},
		Proofs:     s.oidc.v,
		Fetcher:    s.oidc.clientDocs,
		Logger:     s.log,
		Registerer: s.reg,
		PageHeaders: func(h http.Header) {
			webconsole.SetSecurityHeaders(h, webconsole.Info{BaseURL: s.BaseURL(), PodNaming: s.urls.Mode()})
		},
		StyleURL:        webconsole.Path + "style.css",
		LogoutURL:       s.ConsoleURL(),
		AccessTokenTTL:  s.opts.OIDCAccessTokenTTL,
		KeyLifetime:     s.opts.OIDCKeyLifetime,
		KeyPublishAhead: s.opts.OIDCKeyPublishAhead,
	})
}

// Issuer returns the server's Solid-OIDC issuer: its base URL with a
// trailing slash.
func (s *Server) Issuer() string { return s.BaseURL() + "/" }

// IDP returns the server's identity provider.
func (s *Server) IDP() *idp.Provider { return s.idp }

// idpPods is the server as idp.Pods.
type idpPods struct{ s *Server }

func (p idpPods) WebID(pod string) string { return p.s.PodRoot(pod) + profilePath + "#me" }

func (p idpPods) PodOfWebID(webID string) (string, bool) { return p.s.urls.PodOfWebID(webID) }

func (p idpPods) Active(ctx context.Context, pod string) error { return p.s.checkPod(ctx, pod) }

func (p idpPods) OwnerKey(ctx context.Context, pod, secret string) (bool, error) {
	k, err := p.s.keys.Authenticate(ctx, secret)
	if errors.Is(err, acl.ErrKeyNotFound) || errors.Is(err, acl.ErrInvalidKey) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return k.Owner && k.Pod == pod, nil
}

// idpTop serves the identity provider's paths.
func (s *Server) idpTop(c *gin.Context) (bool, error) {
	if !idp.Owns(c.Request.URL.Path) {
		return false, nil
	}
	c.Set("route", routeIDP)
	if sy, ok := s.st.(interface{ Sync(context.Context) error }); ok {
		if err := sy.Sync(c.Request.Context()); err != nil {
			return true, err
		}
	}
	s.idp.ServeHTTP(c.Writer, c.Request)
	return true, nil
}

// withIssuer returns a profile document (JSON-LD, the server's style)
// whose #me names the server's issuer with solid:oidcIssuer, as served:
// stored profiles do not hold it, so a change of base URL changes it.
// It reports false when doc is not such a profile or names it already.
func withIssuer(doc []byte, issuer string) ([]byte, bool) {
	var d map[string]any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if dec.Decode(&d) != nil {
		return nil, false
	}
	graph, _ := d["@graph"].([]any)
	for _, n := range graph {
		m, ok := n.(map[string]any)
		if !ok || m["id"] != "#me" {
			continue
		}
		ref := map[string]any{"id": issuer}
		switch v := m["solid:oidcIssuer"].(type) {
		case nil:
			m["solid:oidcIssuer"] = ref
		case map[string]any:
			if v["id"] == issuer {
				return nil, false
			}
			m["solid:oidcIssuer"] = []any{v, ref}
		case []any:
			for _, x := range v {
				if xm, ok := x.(map[string]any); ok && xm["id"] == issuer {
					return nil, false
				}
			}
			m["solid:oidcIssuer"] = append(v, ref)
		default:
			return nil, false
		}
		out, err := marshalDoc(d)
		if err != nil {
			return nil, false
		}
		return out, true
	}
	return nil, false
}

// idpAPI serves the owner APIs of the identity provider: passwordPath,
// clientsPath and appsPath. Reads need Control of the pod root, writes
// the pod's owner key (authorizeKeys' rule, on settings/).
func (s *Server) idpAPI(c *gin.Context, r *ldp.Request) (bool, error) {
	_, rel := ldp.SplitStoragePath(r.Target.Path)
	var kind, id string
	switch {
	case rel == passwordPath:
		kind = "password"
	case strings.HasPrefix(rel, clientsPath):
		kind, id = "clients", strings.TrimPrefix(rel, clientsPath)
	case strings.HasPrefix(rel, appsPath):
		kind, id = "apps", strings.TrimPrefix(rel, appsPath)
	case rel == strings.TrimSuffix(clientsPath, "/") || rel == strings.TrimSuffix(appsPath, "/"):
		return true, apierr.Newf(http.StatusNotFound, "Not found: the API is at %s", r.Target.Root+rel+"/")
	default:
		return false, nil
	}
	c.Set("route", "idp-"+kind)
	m := c.Request.Method
	if m == http.MethodOptions {
		allow := "OPTIONS, GET, DELETE"
		switch {
		case kind == "password":
			allow = "OPTIONS, GET, PUT, DELETE"
		case kind == "clients" && id == "":
			allow = "OPTIONS, GET, POST"
		case id == "":
			allow = "OPTIONS, GET"
		}
		c.Header("Allow", allow)
		c.Status(http.StatusNoContent)
		return true, nil
	}
	ctx := c.Request.Context()
	var err error
	if m == http.MethodGet || m == http.MethodHead {
		err = s.ldp.Authorize(ctx, r, ldp.StoragePath(r.Target.Pod, ""), acl.Control)
	} else {
		err = s.ldp.Authorize(ctx, r, ldp.StoragePath(r.Target.Pod, rel), acl.Write)
	}
	if err != nil {
		return true, err
	}
	c.Header("Cache-Control", "no-store")
	pod := r.Target.Pod
	switch {
	case kind == "password" && (m == http.MethodGet || m == http.MethodHead):
		set, updated, err := s.idp.PasswordStatus(ctx, pod)
		if err != nil {
			return true, err
		}
		out := gin.H{"set": set}
		if set {
			out["updated"] = updated.UTC().Format(time.RFC3339)
		}
		c.JSON(http.StatusOK, out)
	case kind == "password" && m == http.MethodPut:
		body, err := s.idpBody(c)
		if err != nil {
			return true, err
		}
		pw, err := idp.ParsePasswordBody(body)
		if err != nil {
			return true, apierr.Wrap(http.StatusBadRequest, strings.TrimPrefix(err.Error(), "idp: "), err)
		}
		if err := s.idp.SetPassword(ctx, pod, pw); errors.Is(err, idp.ErrBusy) {
			return true, apierr.New(http.StatusServiceUnavailable, "the server is checking too many passwords at once: retry in a few seconds").With("Retry-After", "5")
		} else if err != nil {
			return true, err
		}
		c.Status(http.StatusNoContent)
	case kind == "password" && m == http.MethodDelete:
		if err := s.idp.DeletePassword(ctx, pod); err != nil {
			return true, err
		}
		c.Status(http.StatusNoContent)
	case kind == "clients" && id == "" && (m == http.MethodGet || m == http.MethodHead):
		list, err := s.idp.Clients(ctx, pod)
		if err != nil {
			return true, err
		}
		out := make([]gin.H, 0, len(list))
		for _, cl := range list {
			out = append(out, s.clientView(r, cl))
		}
		c.JSON(http.StatusOK, gin.H{"id": r.Target.Root + clientsPath, "clients": out})
	case kind == "clients" && id == "" && m == http.MethodPost:
		body, err := s.idpBody(c)
		if err != nil {
			return true, err
		}
		name, err := idp.ParseClientBody(body)
		if err != nil {
			return true, apierr.Wrap(http.StatusBadRequest, strings.TrimPrefix(err.Error(), "idp: "), err)
		}
		cl, secret, err := s.idp.CreateClient(ctx, pod, name)
		if err != nil {
			return true, err
		}
		v := s.clientView(r, cl)
		v["secret"] = secret
		c.Header("Location", v["url"].(string))
		c.JSON(http.StatusCreated, v)
	case kind == "apps" && id == "" && (m == http.MethodGet || m == http.MethodHead):
		list, err := s.idp.Apps(ctx, pod)
		if err != nil {
			return true, err
		}
		out := make([]gin.H, 0, len(list))
		for _, a := range list {
			v := gin.H{"id": a.ID, "url": r.Target.Root + appsPath + a.ID, "clientId": a.ClientID, "name": a.Name,
				"scopes": a.Scopes, "created": a.Created.UTC().Format(time.RFC3339)}
			if v["name"] == "" {
				v["name"] = a.ClientID
			}
			if a.ClientURI != "" {
				v["clientUri"] = a.ClientURI
			}
			if a.LastUsed != nil {
				v["lastUsed"] = a.LastUsed.UTC().Format(time.RFC3339)
			}
			out = append(out, v)
		}
		c.JSON(http.StatusOK, gin.H{"id": r.Target.Root + appsPath, "apps": out})
	case id != "" && !strings.Contains(id, "/") && m == http.MethodDelete:
		del := s.idp.DeleteClient
		if kind == "apps" {
			del = s.idp.DeleteApp
		}
		if err := del(ctx, pod, id); errors.Is(err, idp.ErrNotFound) {
			return true, apierr.NotFound()
		} else if err != nil {
			return true, err
		}
		// Notification channels made with its tokens end now.
		s.nt.n.Recheck()
		c.Status(http.StatusNoContent)
	default:
		return true, apierr.Newf(http.StatusMethodNotAllowed, "Method not allowed on %s", r.Target.Root+rel)
	}
	return true, nil
}

// idpBody reads a small JSON body of the owner APIs.
func (s *Server) idpBody(c *gin.Context) ([]byte, error) {
	body, err := ldp.ReadBody(c, 4096)
	if err != nil {
		return nil, err
	}
	if err := jsoncheck.Check(body); err != nil {
		return nil, apierr.Wrap(http.StatusBadRequest, "the body is not acceptable JSON: "+err.Error(), err)
	}
	return body, nil
}

func (s *Server) clientView(r *ldp.Request, cl idp.ClientInfo) gin.H {
	v := gin.H{"id": cl.ID, "url": r.Target.Root + clientsPath + cl.ID, "name": cl.Name,
		"webid": idpPods{s}.WebID(r.Target.Pod), "created": cl.Created.UTC().Format(time.RFC3339)}
	if cl.LastUsed != nil {
		v["lastUsed"] = cl.LastUsed.UTC().Format(time.RFC3339)
	}
	return v
}

// idpSweeper runs the identity provider's sweep of expired records
// (idp.Provider.RunSweeper) while the server serves.
type idpSweeper struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startSweeper starts the sweep; Shutdown stops it (stopSweeper).
func (s *Server) startSweeper() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.mu.Lock()
	s.sweep = idpSweeper{cancel: cancel, done: done}
	s.mu.Unlock()
	go func() {
		defer close(done)
		s.idp.RunSweeper(ctx)
	}()
}

// stopSweeper stops the sweep and waits for it (a no-op when it never
// started).
func (s *Server) stopSweeper() {
	s.mu.Lock()
	sw := s.sweep
	s.sweep = idpSweeper{}
	s.mu.Unlock()
	if sw.cancel != nil {
		sw.cancel()
		<-sw.done
	}
}
