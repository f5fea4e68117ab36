package pod

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"podserver/acl"
	"podserver/apierr"
	"podserver/ldp"
	"podserver/rdf"
	"podserver/solidoidc"
	"podserver/store"
)

// Route labels for logs and metrics.
const (
	routeLDP     = "ldp"
	routeTop     = "top"
	routeHealth  = "healthz"
	routeMetrics = "metrics"
)

func (s *Server) routes() *gin.Engine {
	e := gin.New()
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = false
	e.ContextWithFallback = true
	_ = e.SetTrustedProxies(nil)
	e.Use(s.requestID, s.recovery, s.accessLog, s.cors)
	e.GET("/healthz", s.healthz)
	metricsHandler := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
	e.GET("/metrics", func(c *gin.Context) {
		c.Set("route", routeMetrics)
		metricsHandler.ServeHTTP(c.Writer, c.Request)
	})
	e.NoRoute(apierr.Handle(s.log, s.dispatch))
	return e
}

// requestID takes X-Request-Id from the request when it is sane, or makes
// one, and echoes it.
func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if id == "" || len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Set("request_id", id)
	c.Header("X-Request-Id", id)
	c.Next()
}

// recovery turns a panic into a 500 and logs it with its stack.
func (s *Server) recovery(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(c.Request.Context(), "panic", "request_id", c.GetString("request_id"), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			apierr.Write(c, nil, fmt.Errorf("panic: %v", v))
		}
	}()
	c.Next()
}

// accessLog logs each request and records its metrics. It never logs
// credentials: only method, path, status, sizes and timing.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	d := time.Since(start)
	route := c.GetString("route")
	if route == "" {
		route = "other"
	}
	status := c.Writer.Status()
	s.metrics.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(status)).Inc()
	s.metrics.latency.WithLabelValues(route).Observe(d.Seconds())
	lvl := slog.LevelInfo
	if route == routeHealth || route == routeMetrics {
		lvl = slog.LevelDebug
	}
	s.log.LogAttrs(c.Request.Context(), lvl, "request",
		slog.String("request_id", c.GetString("request_id")),
		slog.String("method", c.Request.Method),
		slog.String("host", c.Request.Host),
		slog.String("path", c.Request.URL.Path),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Int("bytes", c.Writer.Size()),
		slog.Duration("duration", d),
		slog.String("agent", c.GetString("agent")),
	)
}

// exposedHeaders are the response headers browsers may read.
const exposedHeaders = "Accept-Patch, Accept-Post, Accept-Put, Allow, Content-Type, ETag, Last-Modified, Link, Location, Retry-After, Updates-Via, Vary, WAC-Allow, WWW-Authenticate, X-Request-Id"

// cors answers preflight requests and lets browsers read responses: the
// Origin is echoed, with Access-Control-Allow-Credentials, as the Solid
// Protocol asks (apps such as rdflib send every request with credentials
// "include", and the browser refuses the response without it). No route
// authenticates with a cookie (keys and tokens come in headers; the one
// cookie, the IdP pages' CSRF token, is SameSite=Strict), so a credentialed
// cross-origin request gains nothing a plain one lacks.
func (s *Server) cors(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	origin := c.GetHeader("Origin")
	if origin == "" {
		c.Next()
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", exposedHeaders)
	if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE")
		if rh := c.GetHeader("Access-Control-Request-Headers"); rh != "" {
			h.Set("Access-Control-Allow-Headers", rh)
		}
		h.Set("Access-Control-Max-Age", "600")
		c.Set("route", "preflight")
		c.AbortWithStatus(http.StatusNoContent)
		return
	}
	c.Next()
}

// authenticate resolves the request's credentials. No credentials is the
// anonymous principal; bad credentials are a 401.
func (s *Server) authenticate(c *gin.Context) (ldp.Principal, error) {
	if solidoidc.HasToken(c.Request) {
		return s.oidc.authenticate(c)
	}
	secret, ok := acl.CredentialsFromRequest(c.Request)
	if !ok {
		if c.GetHeader("x-api-key") != "" || c.GetHeader("Authorization") != "" {
			return ldp.Principal{}, errInvalidKey
		}
		return ldp.Principal{}, nil
	}
	k, err := s.keys.Authenticate(c.Request.Context(), secret)
	if errors.Is(err, acl.ErrInvalidKey) {
		return ldp.Principal{}, errInvalidKey
	}
	if err != nil {
		return ldp.Principal{}, err
	}
	pr := ldp.Principal{Agent: s.WebID(k.Pod), Pod: k.Pod, App: k.App, Owner: k.Owner, KeyID: k.ID}
	c.Set("agent", pr.Agent)
	return pr, nil
}

// dispatch serves every request that is not a fixed server route.
func (s *Server) dispatch(c *gin.Context) error {
	t, top, err := s.target(c.Request)
	if err != nil {
		return err
	}
	if top {
		return s.serveTop(c)
	}
	c.Set("route", routeLDP)
	if sy, ok := s.st.(store.Syncer); ok {
		// Another node's writes apply to this request (keys, ACLs,
		// settings are cached here).
		if err := sy.Sync(c.Request.Context()); err != nil {
			return err
		}
	}
	pr, err := s.authenticate(c)
	if err != nil {
		return err
	}
	if err := s.checkPod(c.Request.Context(), t.Pod); err != nil {
		return err
	}
	if err := s.checkAgentPod(c.Request.Context(), pr, t.Pod); err != nil {
		return err
	}
	req := &ldp.Request{Target: t, Principal: pr, Origin: c.GetHeader("Origin")}
	for _, route := range []func(*gin.Context, *ldp.Request) (bool, error){s.keysAPI, s.idpAPI, s.nt.route, s.ev.route} {
		if done, err := route(c, req); done || err != nil {
			return err
		}
	}
	return s.ldp.Serve(c, req)
}

// serveContext serves a JSON-LD context document.
func serveContext(c *gin.Context, doc []byte) {
	c.Header("Cache-Control", "public, max-age=86400")
	c.Header("ETag", `"`+strconv.FormatUint(uint64(len(doc)), 36)+"-"+strconv.FormatUint(uint64(crc32.ChecksumIEEE(doc)), 36)+`"`)
	if inm := c.GetHeader("If-None-Match"); inm != "" && inm == c.Writer.Header().Get("ETag") {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, "application/ld+json", doc)
}

// serveTop serves server-level paths outside pods.
func (s *Server) serveTop(c *gin.Context) error {
	c.Set("route", routeTop)
	for _, route := range []func(*gin.Context) (bool, error){s.con.top, s.nt.top, s.adm.top, s.idpTop} {
		if done, err := route(c); done || err != nil {
			return err
		}
	}
	p := c.Request.URL.Path
	if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
		return apierr.NotFound()
	}
	switch p {
	case rdf.ContextPath, rdf.ContextPath + ".jsonld":
		// podserver's JSON-LD context, which what the server sends names
		// (rdf.Portable): public, cacheable, readable from any origin.
		serveContext(c, rdf.ContextDocument())
		return nil
	case rdf.ListingContextPath:
		serveContext(c, rdf.ListingContextDocument())
		return nil
	case "/":
		c.JSON(http.StatusOK, gin.H{"name": "podserver", "pods": "GET /{pod}/ on this server", "health": "/healthz"})
		return nil
	}
	return apierr.NotFound()
}
