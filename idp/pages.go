package idp

import (
	"context"
	"crypto/subtle"
	"errors"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"podserver/store"
)

// csrfCookie holds the auth request's CSRF token in the browser that
// loaded the login page; the form carries it too, and both must match.
const csrfCookie = "podserver_oidc_csrf"

// maxFormBytes bounds a login or consent form.
const maxFormBytes = 8 << 10

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}} · podserver</title>
<link rel="stylesheet" href="{{.Style}}">
</head>
<body>
<header class="top"><p class="brand">podserver <span>log in</span></p></header>
<main id="main-content">
<section class="card narrow">
<h1>{{.Title}}</h1>
{{if .Error}}<p class="field-error" role="alert">{{.Error}}</p>{{end}}
{{if eq .Kind "login"}}
<p class="intro">{{.App}} asks to use your pod.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="id" value="{{.ID}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<div class="field"><label for="pod">Pod name</label><input type="text" id="pod" name="pod" autocomplete="username" required value="{{.Pod}}"></div>
<div class="field"><label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password"><p class="hint">The password you set in the console, or leave it empty and give the owner key.</p></div>
<div class="field"><label for="key">Owner key</label><input type="password" id="key" name="key" autocomplete="off"></div>
<button type="submit">Log in</button>
</form>
{{else if eq .Kind "consent"}}
<p class="intro"><strong>{{.App}}</strong>{{if .ClientURI}} (<a href="{{.ClientURI}}" rel="noreferrer noopener">{{.ClientURI}}</a>){{end}} asks to act as <strong>{{.WebID}}</strong>.</p>
{{if .Logo}}<p><img src="{{.Logo}}" alt="" width="64" height="64"></p>{{end}}
<p class="hint">Client id: {{.ClientID}}</p>
<p class="hint">It will read and write what your WebID may read and write. You can withdraw this in the console.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="id" value="{{.ID}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>
{{end}}
</section>
</main>
</body>
</html>
`))

// page is the data of pageTmpl.
type page struct {
	Kind, Title, Error, Style, Action   string
	ID, CSRF, Pod, App, WebID, ClientID string
	ClientURI, Logo                     string
}

// render writes a page with the console's security headers and a
// Content-Security-Policy whose form-action allows this server and the
// redirect URI's origin (browsers check form-action on the redirect that
// answers the form).
func (p *Provider) render(w http.ResponseWriter, status int, pg page, redirectURI string) {
	h := w.Header()
	p.cfg.PageHeaders(h)
	formAction := "'self'"
	if u, err := url.Parse(redirectURI); err == nil && (u.Scheme == "https" || u.Scheme == "http") && validHost(u.Host) {
		formAction += " " + u.Scheme + "://" + u.Host
	}
	img := "'self'"
	if u, err := url.Parse(pg.Logo); err == nil && pg.Logo != "" && validHost(u.Host) {
		img += " " + u.Scheme + "://" + u.Host
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src "+img+"; base-uri 'none'; form-action "+formAction+"; frame-ancestors 'none'")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	pg.Style = p.cfg.StyleURL
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, pg)
}

func validHost(host string) bool {
	if host == "" {
		return false
	}
	for _, c := range host {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)
		if !ok {
			return false
		}
	}
	return true
}

// pageRequest reads the auth request of a page request (GET: the query's
// id; POST: the form's, with the CSRF token checked against the cookie
// and the stored one).
func (p *Provider) pageRequest(w http.ResponseWriter, r *http.Request) (*authRequest, *client, bool) {
	var id string
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		id = r.URL.Query().Get("id")
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			p.render(w, http.StatusBadRequest, page{Kind: "error", Title: "Bad request", Error: "The form could not be read."}, "")
			return nil, nil, false
		}
		id = r.PostForm.Get("id")
	default:
		w.Header().Set("Allow", "GET, POST")
		p.render(w, http.StatusMethodNotAllowed, page{Kind: "error", Title: "Method not allowed"}, "")
		return nil, nil, false
	}
	s := &storage{p}
	a, err := s.authRequest(r.Context(), id)
	if err != nil || id == "" {
		p.render(w, http.StatusBadRequest, page{Kind: "error", Title: "Login expired", Error: "This login request is unknown or expired: start again from the app."}, "")
		return nil, nil, false
	}
	if r.Method == http.MethodPost {
		form := r.PostForm.Get("csrf")
		ck, _ := r.Cookie(csrfCookie)
		if form == "" || ck == nil || subtle.ConstantTimeCompare([]byte(form), []byte(a.CSRF)) != 1 ||
			subtle.ConstantTimeCompare([]byte(ck.Value), []byte(a.CSRF)) != 1 {
			p.met.logins.WithLabelValues("csrf").Inc()
			p.render(w, http.StatusForbidden, page{Kind: "error", Title: "Request refused", Error: "The form's security token is missing or wrong: reload the page and try again."}, "")
			return nil, nil, false
		}
	}
	c, err := p.client(r.Context(), a.ClientID)
	if err != nil {
		p.render(w, http.StatusBadRequest, page{Kind: "error", Title: "Unknown app", Error: "The app's registration cannot be read."}, "")
		return nil, nil, false
	}
	return a, c, true
}

// setCSRF sets the CSRF cookie of a.
func (p *Provider) setCSRF(w http.ResponseWriter, a *authRequest) {
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: a.CSRF, Path: PathPrefix, HttpOnly: true,
		Secure: strings.HasPrefix(p.cfg.Issuer, "https://"), SameSite: http.SameSiteStrictMode, MaxAge: int(authTTL / time.Second)})
}

// login serves the login page: a pod name with the pod's password or an
// owner key. Failures are counted per pod and per client address, in the
// store (limits.go). When the owner allowed the app before for the same
// WebID and no fewer scopes, the app gets its code at once; otherwise the
// consent page follows.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	a, c, ok := p.pageRequest(w, r)
	if !ok {
		return
	}
	pg := page{Kind: "login", Title: "Log in", Action: PathLogin, ID: a.ID, CSRF: a.CSRF, App: c.name()}
	if r.Method != http.MethodPost {
		p.setCSRF(w, a)
		p.render(w, http.StatusOK, pg, a.RedirectURI)
		return
	}
	pod := strings.TrimSpace(r.PostForm.Get("pod"))
	password, ownerKey := r.PostForm.Get("password"), r.PostForm.Get("key")
	pg.Pod = pod
	ctx := r.Context()
	now := p.now()
	counters := [][]byte{podCounter(pod), ipCounter(clientIP(r))}
	blocked, err := p.reserveAttempt(ctx, now, counters, []int{p.cfg.LoginAttempts, 3 * p.cfg.LoginAttempts})
	if err != nil {
		p.log.ErrorContext(ctx, "idp: login counters", "err", err)
		p.render(w, http.StatusServiceUnavailable, page{Kind: "error", Title: "Login failed", Error: "Try again."}, "")
		return
	}
	if blocked {
		p.met.logins.WithLabelValues("rate_limited").Inc()
		w.Header().Set("Retry-After", "60")
		pg.Error = "Too many failed logins: wait a few minutes and try again."
		p.render(w, http.StatusTooManyRequests, pg, a.RedirectURI)
		return
	}
	amr, err := p.checkLogin(ctx, pod, password, ownerKey)
	if errors.Is(err, ErrBusy) {
		// Not the user's failure: give the attempt back.
		p.refundAttempt(ctx, now, counters)
		p.met.logins.WithLabelValues("busy").Inc()
		w.Header().Set("Retry-After", "5")
		pg.Error = "The server is busy checking other logins: try again in a few seconds."
		p.render(w, http.StatusServiceUnavailable, pg, a.RedirectURI)
		return
	}
	if err != nil {
		p.met.logins.WithLabelValues("failed").Inc()
		p.log.InfoContext(ctx, "idp: login failed", "pod", pod, "client_id", a.ClientID, "err", err)
		pg.Error = "The pod name, password or owner key is wrong."
		p.render(w, http.StatusUnauthorized, pg, a.RedirectURI)
		return
	}
	p.refundAttempt(ctx, now, counters)
	remembered := false
	err = p.cfg.Store.Update(ctx, func(tx store.Txn) error {
		var cur authRequest
		ok, err := getJSON(tx, key(kindAuth, a.ID), &cur)
		if err != nil || !ok {
			return errors.Join(err, errors.New("idp: auth request gone"))
		}
		cur.Pod, cur.WebID, cur.AuthTime, cur.AMR = pod, p.cfg.Pods.WebID(pod), now, amr
		// An app the owner allowed before, for no fewer scopes, is not
		// asked again (unless it asks for the consent prompt).
		if !slices.Contains(cur.Prompt, oidc.PromptConsent) {
			var cr consentRecord
			ok, err := getJSON(tx, key(kindConsent, pod, appID(cur.ClientID)), &cr)
			if err != nil {
				return err
			}
			if ok && cr.ClientID == cur.ClientID && subset(cur.Scopes, cr.Scopes) {
				cur.Consented, remembered = true, true
			}
		}
		*a = cur
		return putJSON(tx, key(kindAuth, a.ID), cur)
	})
	if err != nil {
		p.log.ErrorContext(ctx, "idp: login", "err", err)
		p.render(w, http.StatusInternalServerError, page{Kind: "error", Title: "Login failed", Error: "Try again."}, "")
		return
	}
	p.met.logins.WithLabelValues("success").Inc()
	if remembered {
		p.met.logins.WithLabelValues("consent_remembered").Inc()
		r = r.WithContext(op.ContextWithIssuer(ctx, p.cfg.Issuer))
		op.AuthResponse(a, p.op, w, r)
		return
	}
	http.Redirect(w, r, PathConsent+"?id="+url.QueryEscape(a.ID), http.StatusSeeOther)
}

// subset reports whether every scope of want is in have.
func subset(want, have []string) bool {
	for _, s := range want {
		if !slices.Contains(have, s) {
			return false
		}
	}
	return true
}

// checkLogin checks a pod's credentials and returns the auth methods.
func (p *Provider) checkLogin(ctx context.Context, pod, password, ownerKey string) ([]string, error) {
	if pod == "" || len(pod) > 256 {
		return nil, errors.New("no pod name")
	}
	if err := p.cfg.Pods.Active(ctx, pod); err != nil {
		return nil, err
	}
	if password != "" {
		ok, err := p.CheckPassword(ctx, pod, password)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errors.New("wrong password")
		}
		return []string{"pwd"}, nil
	}
	if ownerKey == "" {
		return nil, errors.New("no password or key")
	}
	ok, err := p.cfg.Pods.OwnerKey(ctx, pod, ownerKey)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("not an owner key of the pod")
	}
	return []string{"pop"}, nil
}

// consent serves the consent page: it names the app and the WebID; Allow
// records the consent and answers the app with a code, Deny with
// access_denied.
func (p *Provider) consent(w http.ResponseWriter, r *http.Request) {
	a, c, ok := p.pageRequest(w, r)
	if !ok {
		return
	}
	if a.WebID == "" {
		http.Redirect(w, r, PathLogin+"?id="+url.QueryEscape(a.ID), http.StatusSeeOther)
		return
	}
	if r.Method != http.MethodPost {
		p.setCSRF(w, a)
		p.render(w, http.StatusOK, page{Kind: "consent", Title: "Allow access?", Action: PathConsent, ID: a.ID, CSRF: a.CSRF,
			App: c.name(), WebID: a.WebID, ClientID: a.ClientID, ClientURI: c.meta.ClientURI, Logo: c.meta.LogoURI}, a.RedirectURI)
		return
	}
	ctx := op.ContextWithIssuer(r.Context(), p.cfg.Issuer)
	r = r.WithContext(ctx)
	if r.PostForm.Get("decision") != "allow" {
		p.met.logins.WithLabelValues("denied").Inc()
		_ = (&storage{p}).DeleteAuthRequest(ctx, a.ID)
		op.AuthRequestError(w, r, a, oidc.ErrAccessDenied().WithDescription("the owner denied access"), p.op)
		return
	}
	now := p.now()
	err := p.cfg.Store.Update(ctx, func(tx store.Txn) error {
		var cur authRequest
		ok, err := getJSON(tx, key(kindAuth, a.ID), &cur)
		if err != nil || !ok {
			return errors.Join(err, errors.New("idp: auth request gone"))
		}
		cur.Consented = true
		*a = cur
		k := key(kindConsent, cur.Pod, appID(cur.ClientID))
		var cr consentRecord
		if ok, err := getJSON(tx, k, &cr); err != nil {
			return err
		} else if !ok {
			cr = consentRecord{ID: appID(cur.ClientID), ClientID: cur.ClientID, Created: now}
		}
		cr.Name, cr.ClientURI, cr.Scopes = c.meta.ClientName, c.meta.ClientURI, cur.Scopes
		if err := putJSON(tx, k, cr); err != nil {
			return err
		}
		return putJSON(tx, key(kindAuth, a.ID), cur)
	})
	if err != nil {
		p.log.ErrorContext(ctx, "idp: consent", "err", err)
		p.render(w, http.StatusInternalServerError, page{Kind: "error", Title: "Consent failed", Error: "Try again."}, "")
		return
	}
	p.met.logins.WithLabelValues("consented").Inc()
	op.AuthResponse(a, p.op, w, r)
}

// clientIP is the request's peer address (the server trusts no proxy
// header).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
