// Package console is the owner console: a web application, built into the
// binary, in which pod owners manage their pod's topic permissions and
// subscriptions, access control lists, API keys, inbox and outbox.
//
// The application is plain ES modules and CSS under static/, embedded in the
// binary as they are: nothing is built or downloaded to build, run or test
// the server.
// In the browser it uses the server's public HTTP API and nothing else,
// with the owner key the user signs in with (kept in sessionStorage, sent
// as x-api-key), so every action goes through the same authorization as
// any other client. This package only serves the files, with a strict
// Content-Security-Policy and the other security headers on every
// response (headers.go).
//
// This package imports apierr only. It must not import pod, cmd, or the
// storage, ldp and acl packages: the console is a client of the API.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"podserver/apierr"
)

//go:embed static
var static embed.FS

// Path is the URL path the console is served at.
const Path = "/console/"

// configName is the console's server description, made per request.
const configName = "config.json"

// Info is what the console's script is told about the server.
type Info struct {
	// BaseURL is the server's base URL without a trailing slash.
	BaseURL string `json:"baseURL"`
	// PodNaming is "path" (pods at BaseURL/{pod}/) or "subdomain" (pods at
	// {pod}.HOST).
	PodNaming string `json:"podNaming"`
}

// Config configures a Handler.
type Config struct {
	// Info describes the server. It is called for each request, since the
	// base URL is known only once the server listens.
	Info func() Info
}

// file is an embedded asset, ready to serve.
type file struct {
	body  []byte
	ctype string
	etag  string
}

// Handler serves the console. It is safe for concurrent use.
type Handler struct {
	info  func() Info
	files map[string]file // by path relative to Path: "" is index.html
}

// New returns a Handler over the embedded assets.
func New(cfg Config) (*Handler, error) {
	if cfg.Info == nil {
		return nil, fmt.Errorf("console: Config.Info is required")
	}
	h := &Handler{info: cfg.Info, files: map[string]file{}}
	sub, err := fs.Sub(static, "static")
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	err = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(sub, name)
		if err != nil {
			return err
		}
		ct := contentType(name)
		if ct == "" {
			return fmt.Errorf("no content type for %s", name)
		}
		sum := sha256.Sum256(body)
		h.files[name] = file{body: body, ctype: ct, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console: reading embedded assets: %w", err)
	}
	idx, ok := h.files["index.html"]
	if !ok {
		return nil, fmt.Errorf("console: static/index.html is missing")
	}
	h.files[""] = idx
	return h, nil
}

// contentType returns the media type of an asset by its extension.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	return mime.TypeByExtension(path.Ext(name))
}

// Owns reports whether the console serves URL path p: "/console" and
// everything under Path.
func Owns(p string) bool {
	return p == strings.TrimSuffix(Path, "/") || strings.HasPrefix(p, Path)
}

// Client-facing errors.
var (
	errNotFound = apierr.New(http.StatusNotFound, "Not found: the console is at "+Path)
	errMethod   = apierr.New(http.StatusMethodNotAllowed, "the console's files take GET and HEAD only").With("Allow", "GET, HEAD")
)

// Serve serves a request for a path the console owns (see Owns). It sets
// the security headers on every response, errors included, and returns
// errors for the caller to write.
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request) error {
	info := h.info()
	setSecurityHeaders(w.Header(), info)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return errMethod
	}
	rel, ok := strings.CutPrefix(r.URL.Path, Path)
	if !ok {
		// "/console": the application's relative module URLs need the slash.
		http.Redirect(w, r, Path, http.StatusMovedPermanently)
		return nil
	}
	if rel == configName {
		body, err := json.Marshal(info)
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		http.ServeContent(w, r, configName, time.Time{}, bytes.NewReader(body))
		return nil
	}
	f, ok := h.files[rel]
	if !ok {
		return errNotFound
	}
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	hd.Set("ETag", f.etag)
	// Revalidate every time: a new binary serves new files at the same URLs.
	hd.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, rel, time.Time{}, bytes.NewReader(f.body))
	return nil
}
