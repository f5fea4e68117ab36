package solidoidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"podserver/expmap"
	"podserver/netguard"
)

// MaxKeysPerIssuer bounds the keys kept of one issuer's JWKS (the first
// ones that are usable): an issuer rotating keys publishes a few, and each
// key kept may cost a signature check per token.
const MaxKeysPerIssuer = 20

// issuerKeys is a cached discovery and JWKS fetch of one issuer.
type issuerKeys struct {
	keys []jose.JSONWebKey // public signing keys only, at most MaxKeysPerIssuer
	err  error
	// fetched is the time of the last fetch, successful or not; keysTime
	// the time keys were fetched.
	fetched  time.Time
	keysTime time.Time
	expires  time.Time
}

// keyCall is a fetch in progress; done is closed when res is set.
type keyCall struct {
	done chan struct{}
	res  issuerKeys
}

// keyCache fetches and caches the signing keys of issuers. Concurrent
// requests for one issuer share one fetch.
type keyCache struct {
	cfg *Config

	mu       sync.Mutex
	cache    map[string]*issuerKeys
	inflight map[string]*keyCall
}

func newKeyCache(cfg *Config) *keyCache {
	return &keyCache{cfg: cfg, cache: map[string]*issuerKeys{}, inflight: map[string]*keyCall{}}
}

// get returns the keys of issuer iss: cached when fresh and not forced,
// else from a new fetch or one in progress.
func (c *keyCache) get(ctx context.Context, iss string, force bool) issuerKeys {
	c.mu.Lock()
	if e := c.cache[iss]; e != nil && !force && c.cfg.Now().Before(e.expires) {
		c.mu.Unlock()
		return *e
	}
	call := c.inflight[iss]
	if call == nil {
		call = &keyCall{done: make(chan struct{})}
		c.inflight[iss] = call
		// Others may wait for this fetch: it keeps the caller's values,
		// not its cancellation.
		go c.run(context.WithoutCancel(ctx), iss, call)
	}
	c.mu.Unlock()
	select {
	case <-call.done:
		return call.res
	case <-ctx.Done():
		return issuerKeys{err: fmt.Errorf("keys of %s: %w", iss, ctx.Err())}
	}
}

// run fetches the keys of iss, caches the result and wakes the waiters.
// A failed fetch keeps good cached keys younger than KeysMaxStale (served
// until KeysErrorTTL passes, then asked again); the fetcher's own refusals
// (ErrBusy, ErrHostFailing) are never cached, as they are not the
// issuer's.
func (c *keyCache) run(ctx context.Context, iss string, call *keyCall) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.FetchTimeout)
	defer cancel()
	keys, err := c.fetch(ctx, iss)
	now := c.cfg.Now()
	call.res = issuerKeys{keys: keys, err: err, fetched: now, keysTime: now, expires: now.Add(c.cfg.KeysTTL)}
	refused := errors.Is(err, netguard.ErrBusy) || errors.Is(err, netguard.ErrHostFailing)
	c.mu.Lock()
	old := c.cache[iss]
	switch {
	case err == nil:
		c.store(iss, call.res)
	case old != nil && old.err == nil && now.Sub(old.keysTime) < c.cfg.KeysMaxStale:
		call.res = *old
		call.res.fetched = now
		call.res.expires = now.Add(c.cfg.KeysErrorTTL)
		c.store(iss, call.res)
	case !refused:
		call.res.expires = now.Add(c.cfg.KeysErrorTTL)
		c.store(iss, call.res)
	default:
		delete(c.cache, iss)
	}
	delete(c.inflight, iss)
	c.mu.Unlock()
	close(call.done)
}

// store caches e within MaxIssuers, evicting expired entries first and
// then those closest to expiry (expmap.MakeRoom). c.mu must be held.
func (c *keyCache) store(iss string, e issuerKeys) {
	expmap.MakeRoom(c.cache, iss, c.cfg.MaxIssuers, c.cfg.Now(), func(e *issuerKeys) time.Time { return e.expires })
	c.cache[iss] = &e
}

// discovery is what this package reads of an OpenID Provider's metadata.
type discovery struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// fetch reads the issuer's OpenID discovery document and then its JWKS.
func (c *keyCache) fetch(ctx context.Context, iss string) ([]jose.JSONWebKey, error) {
	if c.cfg.LocalKeys != nil {
		if keys, ok, err := c.cfg.LocalKeys(ctx, iss); ok {
			if err != nil {
				return nil, fmt.Errorf("keys of %s: %w", iss, err)
			}
			return keys, nil
		}
	}
	var d discovery
	discURL := strings.TrimSuffix(iss, "/") + "/.well-known/openid-configuration"
	err := c.cfg.Fetcher.Fetch(ctx, discURL, "application/json", c.cfg.MaxDocumentBytes, func(_ string, body []byte) error {
		if err := json.Unmarshal(body, &d); err != nil {
			return fmt.Errorf("discovery document is not JSON: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("discovery of %s: %w", iss, err)
	}
	if d.Issuer != iss {
		return nil, fmt.Errorf("discovery of %s names issuer %q", iss, d.Issuer)
	}
	if err := CheckSecureURL(d.JWKSURI); err != nil {
		return nil, fmt.Errorf("jwks_uri of %s: %w", iss, err)
	}
	var set jose.JSONWebKeySet
	err = c.cfg.Fetcher.Fetch(ctx, d.JWKSURI, "application/jwk-set+json, application/json", c.cfg.MaxDocumentBytes, func(_ string, body []byte) error {
		// Keys that do not parse make the whole set fail in go-jose;
		// read them one by one so one odd key does not hide the others.
		// A second key with a kid already seen is ignored, so a kid
		// names one key.
		var raw struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(body, &raw); err != nil {
			return fmt.Errorf("JWKS is not JSON: %w", err)
		}
		kids := map[string]bool{}
		for _, r := range raw.Keys {
			if len(set.Keys) == MaxKeysPerIssuer {
				break
			}
			var k jose.JSONWebKey
			if k.UnmarshalJSON(r) == nil && k.IsPublic() && k.Valid() && (k.Use == "" || k.Use == "sig") && !kids[k.KeyID] {
				if k.KeyID != "" {
					kids[k.KeyID] = true
				}
				set.Keys = append(set.Keys, k)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("JWKS of %s: %w", iss, err)
	}
	if len(set.Keys) == 0 {
		return nil, fmt.Errorf("JWKS of %s has no public signing key", iss)
	}
	return set.Keys, nil
}
