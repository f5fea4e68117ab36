package pod

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/acl"
	"podserver/apierr"
	"podserver/jsoncheck"
	"podserver/ldp"
)

// keysPath is the pod-relative path of the key API: a virtual container
// that lists the pod's API keys (GET), creates keys (POST: an app key, or
// with "owner": true another owner key) and revokes them (DELETE
// keys/{id}). Reads need Control of the pod root; writes need the pod's
// owner key (see authorizeKeys). The pod's last owner key is not revoked,
// so no request can lock the owner out.
const keysPath = settingsDir + "keys/"

// keyJSON is a key as the API shows it; Secret only in the reply to the
// POST that created it.
type keyJSON struct {
	ID       string     `json:"id"`
	URL      string     `json:"url"`
	App      string     `json:"app"`
	Owner    bool       `json:"owner"`
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"lastUsed,omitempty"`
	Secret   string     `json:"key,omitempty"`
}

func (s *Server) keyView(r *ldp.Request, k acl.Key) keyJSON {
	v := keyJSON{ID: k.ID, URL: r.Target.Root + keysPath + k.ID, App: k.App, Owner: k.Owner, Created: k.Created}
	if !k.LastUsed.IsZero() {
		lu := k.LastUsed
		v.LastUsed = &lu
	}
	return v
}

// authorizeKeys makes the access decision of a key API request before
// anything of it is read: a read (GET, HEAD) needs Control of the pod root;
// any other method is a write, which needs Write on keysPath, and settings/
// is the owner's (see authorizer), so only the pod's owner key passes,
// whatever the ACLs grant.
func (s *Server) authorizeKeys(c *gin.Context, r *ldp.Request) error {
	ctx := c.Request.Context()
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead:
		return s.ldp.Authorize(ctx, r, ldp.StoragePath(r.Target.Pod, ""), acl.Control)
	}
	return s.ldp.Authorize(ctx, r, ldp.StoragePath(r.Target.Pod, keysPath), acl.Write)
}

// keysAPI serves keysPath and its members.
func (s *Server) keysAPI(c *gin.Context, r *ldp.Request) (bool, error) {
	_, rel := ldp.SplitStoragePath(r.Target.Path)
	id, ok := strings.CutPrefix(rel, keysPath)
	if !ok {
		if rel == strings.TrimSuffix(keysPath, "/") {
			return true, apierr.Newf(http.StatusNotFound, msgKeyAPIAt, r.Target.Root+keysPath)
		}
		return false, nil
	}
	c.Set("route", "keys")
	ctx := c.Request.Context()
	if c.Request.Method == http.MethodOptions {
		c.Header("Allow", "OPTIONS, GET, POST, DELETE")
		c.Status(http.StatusNoContent)
		return true, nil
	}
	if err := s.authorizeKeys(c, r); err != nil {
		return true, err
	}
	c.Header("Cache-Control", "no-store")
	switch {
	case id == "" && (c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead):
		keys, err := s.keys.List(ctx, r.Target.Pod)
		if err != nil {
			return true, err
		}
		out := make([]keyJSON, 0, len(keys))
		for _, k := range keys {
			out = append(out, s.keyView(r, k))
		}
		c.JSON(http.StatusOK, gin.H{"id": r.Target.Root + keysPath, "keys": out})
		return true, nil
	case id == "" && c.Request.Method == http.MethodPost:
		body, err := ldp.ReadBody(c, 4096)
		if err != nil {
			return true, err
		}
		if err := jsoncheck.Check(body); err != nil {
			return true, apierr.Wrap(http.StatusBadRequest, msgKeyBodyJSON+err.Error(), err)
		}
		var in struct {
			App   string `json:"app"`
			Owner bool   `json:"owner"`
		}
		if err := json.Unmarshal(body, &in); err != nil || (in.App == "" && !in.Owner) {
			return true, apierr.New(http.StatusBadRequest, `send {"app": "NAME"}: the app name the key identifies, or {"owner": true} for another owner key`)
		}
		secret, k, err := s.keys.Create(ctx, r.Target.Pod, in.App, in.Owner)
		if errors.Is(err, acl.ErrInvalidApp) {
			return true, apierr.Newf(http.StatusBadRequest, msgBadAppName, in.App)
		}
		if err != nil {
			return true, err
		}
		v := s.keyView(r, k)
		v.Secret = secret
		c.Header("Location", v.URL)
		c.JSON(http.StatusCreated, v)
		return true, nil
	case id != "" && !strings.Contains(id, "/") && (c.Request.Method == http.MethodGet || c.Request.Method == http.MethodDelete):
		keys, err := s.keys.List(ctx, r.Target.Pod)
		if err != nil {
			return true, err
		}
		for _, k := range keys {
			if k.ID != id {
				continue
			}
			if c.Request.Method == http.MethodGet {
				c.JSON(http.StatusOK, s.keyView(r, k))
				return true, nil
			}
			err := s.keys.Revoke(ctx, r.Target.Pod, id)
			if errors.Is(err, acl.ErrLastOwnerKey) {
				return true, apierr.Wrap(http.StatusConflict, err.Error(), err)
			}
			if err != nil {
				return true, err
			}
			c.Status(http.StatusNoContent)
			return true, nil
		}
		return true, apierr.NotFound()
	}
	return true, errKeyAPIMethod
}
