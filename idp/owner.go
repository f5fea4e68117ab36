package idp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"podserver/store"
)

// Password bounds (the owner API's).
const (
	MinPasswordChars = 12
	MaxPasswordBytes = 1024
	maxClientName    = 100
)

// ErrBadPassword is a password outside the bounds.
var ErrBadPassword = fmt.Errorf("idp: the password must have at least %d characters and at most %d bytes", MinPasswordChars, MaxPasswordBytes)

// ErrBadName is a client name that is empty, too long or not printable.
var ErrBadName = fmt.Errorf("idp: the name must be 1 to %d printable characters", maxClientName)

// ErrNotFound is an owner API lookup that found nothing.
var ErrNotFound = errors.New("idp: not found")

// ParsePasswordBody reads the owner API's {"password": "..."}.
func ParsePasswordBody(body []byte) (string, error) {
	var in struct {
		Password *string `json:"password"`
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(&in); err != nil || in.Password == nil || d.More() {
		return "", errors.New(`send {"password": "..."}`)
	}
	pw := *in.Password
	if !utf8.ValidString(pw) || utf8.RuneCountInString(pw) < MinPasswordChars || len(pw) > MaxPasswordBytes {
		return "", ErrBadPassword
	}
	return pw, nil
}

// ParseClientBody reads the owner API's {"name": "..."}.
func ParseClientBody(body []byte) (string, error) {
	var in struct {
		Name string `json:"name"`
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(&in); err != nil || d.More() {
		return "", errors.New(`send {"name": "..."}`)
	}
	n := strings.TrimSpace(in.Name)
	if n == "" || utf8.RuneCountInString(n) > maxClientName || !utf8.ValidString(n) ||
		strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", ErrBadName
	}
	return n, nil
}

// PasswordStatus says whether pod has a password and when it was set.
func (p *Provider) PasswordStatus(ctx context.Context, pod string) (bool, time.Time, error) {
	var rec passwordRecord
	var ok bool
	err := p.cfg.Store.View(ctx, func(r store.Reader) (err error) { ok, err = getJSON(r, key(kindPassword, pod), &rec); return err })
	return ok, rec.Updated, err
}

// SetPassword sets pod's login password (argon2id, random salt).
func (p *Provider) SetPassword(ctx context.Context, pod, password string) error {
	if utf8.RuneCountInString(password) < MinPasswordChars || len(password) > MaxPasswordBytes {
		return ErrBadPassword
	}
	rec := passwordRecord{Salt: make([]byte, 16), Time: p.cfg.PasswordTime, Memory: p.cfg.PasswordMemory, Threads: 1, Updated: p.now().UTC()}
	_, _ = rand.Read(rec.Salt)
	var err error
	if rec.Hash, err = p.idKey(ctx, password, rec, 32); err != nil {
		return err
	}
	return p.cfg.Store.Update(ctx, func(tx store.Txn) error { return putJSON(tx, key(kindPassword, pod), rec) })
}

// DeletePassword removes pod's password: only owner keys log in.
func (p *Provider) DeletePassword(ctx context.Context, pod string) error {
	return p.cfg.Store.Update(ctx, func(tx store.Txn) error { return tx.Delete(key(kindPassword, pod)) })
}

// CheckPassword reports whether password is pod's.
func (p *Provider) CheckPassword(ctx context.Context, pod, password string) (bool, error) {
	if len(password) > MaxPasswordBytes {
		return false, nil
	}
	var rec passwordRecord
	var ok bool
	err := p.cfg.Store.View(ctx, func(r store.Reader) (err error) { ok, err = getJSON(r, key(kindPassword, pod), &rec); return err })
	if err != nil || !ok {
		return false, err
	}
	got, err := p.idKey(ctx, password, rec, uint32(len(rec.Hash)))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, rec.Hash) == 1, nil
}

// ErrBusy is returned when a password cannot be hashed now: as many
// hashes as the server has processors run already, and none ended within
// hashWait.
var ErrBusy = errors.New("idp: too many password checks at once")

// hashWait is how long a password hash waits for a slot.
const hashWait = 5 * time.Second

// idKey is the argon2id hash of password with rec's salt and costs. Each
// costs PasswordMemory (19 MiB by default) while it runs, so at most
// GOMAXPROCS (at least 2) run at once, whoever asks: a flood of logins
// waits here (up to hashWait, then ErrBusy) instead of holding gigabytes.
func (p *Provider) idKey(ctx context.Context, password string, rec passwordRecord, n uint32) ([]byte, error) {
	t := time.NewTimer(hashWait)
	defer t.Stop()
	select {
	case p.hashing <- struct{}{}:
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.hashing }()
	return argon2.IDKey([]byte(password), rec.Salt, rec.Time, rec.Memory, max(rec.Threads, 1), n), nil
}

// ClientInfo is a client-credentials client as the owner API shows it.
type ClientInfo struct {
	ID       string
	Name     string
	Created  time.Time
	LastUsed *time.Time
}

// CreateClient makes a client-credentials client for pod; the secret is
// returned once and stored hashed.
func (p *Provider) CreateClient(ctx context.Context, pod, name string) (ClientInfo, string, error) {
	if _, err := ParseClientBody(mustJSON(map[string]string{"name": name})); err != nil {
		return ClientInfo{}, "", ErrBadName
	}
	id := "cc-" + randomID(12)
	secret := "cs_" + secretToken()
	rec := ccRecord{ID: id, Name: name, Hash: hashed(secret), Created: p.now().UTC()}
	err := p.cfg.Store.Update(ctx, func(tx store.Txn) error {
		if err := tx.Set(key(kindCCIndex, id), []byte(pod)); err != nil {
			return err
		}
		return putJSON(tx, key(kindCC, pod, id), rec)
	})
	return ClientInfo{ID: id, Name: name, Created: rec.Created}, secret, err
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// Clients lists pod's client-credentials clients, oldest first.
func (p *Provider) Clients(ctx context.Context, pod string) ([]ClientInfo, error) {
	var out []ClientInfo
	err := p.cfg.Store.View(ctx, func(r store.Reader) error {
		return r.Scan(podKeyPrefix(kindCC, pod), nil, false, func(_, v []byte) error {
			var c ccRecord
			if err := json.Unmarshal(v, &c); err != nil {
				return err
			}
			out = append(out, ClientInfo{ID: c.ID, Name: c.Name, Created: c.Created, LastUsed: c.LastUsed})
			return nil
		})
	})
	sortBy(out, func(c ClientInfo) time.Time { return c.Created })
	return out, err
}

// DeleteClient deletes a client-credentials client of pod; every token
// issued to it stops working at once.
func (p *Provider) DeleteClient(ctx context.Context, pod, id string) error {
	return p.cfg.Store.Update(ctx, func(tx store.Txn) error {
		ok, err := has(tx, key(kindCC, pod, id))
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		for _, k := range [][]byte{key(kindCC, pod, id), key(kindCCIndex, id)} {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return p.cutTx(tx, pod, id)
	})
}

// App is a consent as the owner API shows it.
type App struct {
	ID        string
	ClientID  string
	Name      string
	ClientURI string
	Scopes    []string
	Created   time.Time
	LastUsed  *time.Time
}

// Apps lists the apps pod's owner allowed, oldest first.
func (p *Provider) Apps(ctx context.Context, pod string) ([]App, error) {
	var out []App
	err := p.cfg.Store.View(ctx, func(r store.Reader) error {
		return r.Scan(podKeyPrefix(kindConsent, pod), nil, false, func(_, v []byte) error {
			var c consentRecord
			if err := json.Unmarshal(v, &c); err != nil {
				return err
			}
			out = append(out, App(c))
			return nil
		})
	})
	sortBy(out, func(a App) time.Time { return a.Created })
	return out, err
}

// DeleteApp withdraws a consent: every access and refresh token of the
// app for pod's WebID stops working at once.
func (p *Provider) DeleteApp(ctx context.Context, pod, id string) error {
	return p.cfg.Store.Update(ctx, func(tx store.Txn) error {
		var c consentRecord
		ok, err := getJSON(tx, key(kindConsent, pod, id), &c)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		if err := tx.Delete(key(kindConsent, pod, id)); err != nil {
			return err
		}
		return p.cutTx(tx, pod, c.ClientID)
	})
}

// ErrRevoked is a token of this issuer that no longer works; its message
// says why.
type ErrRevoked struct{ Reason string }

func (e *ErrRevoked) Error() string { return "idp: " + e.Reason }

// CheckToken is the resource server's check of a token this provider
// issued (its signature and claims already verified): the token was not
// revoked, its grant (consent or client) still stands, no logout or
// withdrawal cut it, its family was not revoked, and its pod is active.
// It reads the store, so every node sees a revocation at once. It returns
// the token's grant, for what outlives the request (CheckGrant).
func (p *Provider) CheckToken(ctx context.Context, jti string) (Grant, error) {
	if jti == "" {
		return Grant{}, &ErrRevoked{"the token has no jti"}
	}
	g := Grant{jti: jti}
	err := p.check(ctx, &g, false)
	return g, err
}

// Grant is what an access token of this provider stands on: its client
// (a consent or client credentials), its family and when it was issued.
// Something made with the token that outlives it, such as a notification
// channel, keeps the grant (String, ParseGrant) and asks CheckGrant
// whether it still stands.
type Grant struct {
	jti string
	rec tokenRecord
}

// grantJSON is a Grant's text form.
type grantJSON struct {
	TokenID string `json:"jti"`
	tokenRecord
}

// String returns g in the form ParseGrant reads.
func (g Grant) String() string {
	b, _ := json.Marshal(grantJSON{TokenID: g.jti, tokenRecord: g.rec})
	return string(b)
}

// ParseGrant reads a Grant from its String form.
func ParseGrant(s string) (Grant, error) {
	var j grantJSON
	if err := json.Unmarshal([]byte(s), &j); err != nil || j.TokenID == "" || j.Pod == "" || j.Issued.IsZero() {
		return Grant{}, fmt.Errorf("idp: not a grant: %q", s)
	}
	return Grant{jti: j.TokenID, rec: j.tokenRecord}, nil
}

// CheckGrant reports whether g, the grant of a token this provider
// issued, still stands: nil, or an *ErrRevoked saying why not. It stands
// while the token's consent or client exists, no logout or withdrawal cut
// the client's tokens since it was issued, its family was not revoked,
// its pod is active and, until the token expires, the token itself was
// not revoked. A revocation is recorded for the longest life of a token
// issued before it, so a grant stands no longer than that after its token
// was issued.
func (p *Provider) CheckGrant(ctx context.Context, g Grant) error {
	if g.jti == "" {
		return &ErrRevoked{"the token has no jti"}
	}
	return p.check(ctx, &g, true)
}

// check is CheckToken (grant false: g.rec is read from the token record)
// and CheckGrant (grant true: g.rec is the one recorded when the token was
// used).
func (p *Provider) check(ctx context.Context, g *Grant, grant bool) error {
	var found, famRevoked, granted bool
	var cut time.Time
	err := p.cfg.Store.View(ctx, func(r store.Reader) (err error) {
		var rec tokenRecord
		if found, err = getJSON(r, key(kindToken, g.jti), &rec); err != nil {
			return err
		}
		if !grant {
			if !found {
				return nil
			}
			g.rec = rec
		}
		rec = g.rec
		if rec.Family != "" {
			if famRevoked, err = has(r, key(kindFamily, rec.Family)); err != nil {
				return err
			}
		}
		switch {
		case rec.Consent:
			granted, err = has(r, key(kindConsent, rec.Pod, appID(rec.ClientID)))
		case rec.CC:
			granted, err = has(r, key(kindCC, rec.Pod, rec.ClientID))
		default:
			granted = true
		}
		if err != nil {
			return err
		}
		cut, err = cutOf(r, rec.Pod, rec.ClientID)
		return err
	})
	now := p.now()
	rec := g.rec
	switch {
	case err != nil:
		return err
	case !found && (!grant || now.Before(rec.Expires)):
		return &ErrRevoked{"the token was revoked"}
	case !grant && !now.Before(rec.Expires):
		return &ErrRevoked{"the token has expired"}
	case grant && !now.Before(rec.Issued.Add(p.cfg.maxGrantLifetime())):
		return &ErrRevoked{"the grant has expired"}
	case famRevoked:
		return &ErrRevoked{"the token's grant was revoked"}
	case !granted && rec.CC:
		return &ErrRevoked{"the token's client was deleted"}
	case !granted:
		return &ErrRevoked{"the owner withdrew the app's access"}
	case !rec.Issued.After(cut):
		return &ErrRevoked{"the session was logged out or its access withdrawn"}
	}
	if err := p.cfg.Pods.Active(ctx, rec.Pod); err != nil {
		return &ErrRevoked{"the WebID's pod is not active"}
	}
	return nil
}

func sortBy[T any](s []T, f func(T) time.Time) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && f(s[j]).Before(f(s[j-1])); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
