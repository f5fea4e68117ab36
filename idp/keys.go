package idp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"podserver/store"
)

// signingKey is a stored ES256 key. It is published in the JWKS from
// Created, signs from Active (Created + publish-ahead, so verifiers that
// cached the JWKS before it appeared refetch it in time), and stays
// published until Retire (its successor's Active plus the longest token
// lifetime), when it is deleted.
type signingKey struct {
	KID     string          `json:"kid"`
	JWK     json.RawMessage `json:"jwk"`
	Created time.Time       `json:"created"`
	Active  time.Time       `json:"active"`
	Seq     uint64          `json:"seq"`
	priv    *ecdsa.PrivateKey
}

// keyRing reads the signing keys from the store and rotates them; every
// node sharing the store signs with the same key and publishes the same
// set. It caches the set for keyCacheTTL.
type keyRing struct {
	p *Provider

	mu      sync.Mutex
	keys    []signingKey // oldest first
	fetched time.Time
}

// keyCacheTTL is how long a node uses the keys it read before reading
// them again (and rotating if due).
const keyCacheTTL = 30 * time.Second

// current returns the published keys, rotating when due.
func (k *keyRing) current(ctx context.Context) ([]signingKey, error) {
	now := k.p.now()
	k.mu.Lock()
	if k.keys != nil && now.Sub(k.fetched) < keyCacheTTL && now.After(k.fetched) {
		keys := k.keys
		k.mu.Unlock()
		return keys, nil
	}
	k.mu.Unlock()
	keys, err := k.load(ctx, false)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	k.keys, k.fetched = keys, now
	k.mu.Unlock()
	return keys, nil
}

// PublicKeys returns the published signing keys as public JWKs: what
// the JWKS endpoint serves, for this server's own resource server to
// verify its tokens without fetching its own JWKS over the network.
func (p *Provider) PublicKeys(ctx context.Context) ([]jose.JSONWebKey, error) {
	keys, err := p.keys.current(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]jose.JSONWebKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.KID, Algorithm: string(jose.ES256), Use: "sig"})
	}
	return out, nil
}

// Rotate makes a new signing key now (published at once, signing after
// the publish-ahead delay), whatever the age of the current one.
func (p *Provider) Rotate(ctx context.Context) error {
	keys, err := p.keys.load(ctx, true)
	if err != nil {
		return err
	}
	p.keys.mu.Lock()
	p.keys.keys, p.keys.fetched = keys, p.now()
	p.keys.mu.Unlock()
	return nil
}

// load reads the keys, and in the same transaction makes a new one when
// there is none, when the newest is older than the key lifetime, or when
// force; it deletes retired keys.
func (k *keyRing) load(ctx context.Context, force bool) ([]signingKey, error) {
	cfg := &k.p.cfg
	now := k.p.now()
	var out []signingKey
	read := func(r store.Reader) error {
		out = out[:0]
		return r.Scan(key(kindKey), nil, false, func(_, v []byte) error {
			var sk signingKey
			if err := json.Unmarshal(v, &sk); err != nil {
				return fmt.Errorf("idp: signing key: %w", err)
			}
			out = append(out, sk)
			return nil
		})
	}
	due := func() bool {
		return force || len(out) == 0 || now.Sub(out[len(out)-1].Created) >= cfg.KeyLifetime
	}
	if err := k.p.cfg.Store.View(ctx, read); err != nil {
		return nil, err
	}
	retire := k.retired(out, now)
	if due() || len(retire) > 0 {
		err := k.p.cfg.Store.Update(ctx, func(tx store.Txn) error {
			if err := read(tx); err != nil {
				return err
			}
			for _, sk := range k.retired(out, now) {
				if err := tx.Delete(append(key(kindKey), keyID(sk)...)); err != nil {
					return err
				}
			}
			// Another node may have rotated meanwhile: decide again.
			if !due() {
				return nil
			}
			sk, err := newSigningKey(now, len(out) > 0, cfg.KeyPublishAhead)
			if err != nil {
				return err
			}
			sk.Seq = tx.NextSeq()
			return putJSON(tx, append(key(kindKey), keyID(sk)...), sk)
		})
		if err != nil {
			return nil, err
		}
		if err := k.p.cfg.Store.View(ctx, read); err != nil {
			return nil, err
		}
	}
	for i := range out {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(out[i].JWK); err != nil {
			return nil, fmt.Errorf("idp: signing key %s: %w", out[i].KID, err)
		}
		priv, ok := jwk.Key.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("idp: signing key %s is not an EC private key", out[i].KID)
		}
		out[i].priv = priv
	}
	return out, nil
}

// retired returns the keys past their retirement: superseded by a key
// that became active more than the longest token lifetime ago.
func (k *keyRing) retired(keys []signingKey, now time.Time) []signingKey {
	var out []signingKey
	for i := 0; i+1 < len(keys); i++ {
		if now.Sub(keys[i+1].Active) > k.p.cfg.maxTokenLifetime()+k.p.cfg.KeyPublishAhead {
			out = append(out, keys[i])
		}
	}
	return out
}

// keyID is the store key of sk after the prefix: its sequence number, so
// keys list in creation order.
func keyID(sk signingKey) []byte { return store.AppendUint64(nil, sk.Seq) }

// newSigningKey makes an ES256 key created at now; a key that succeeds
// another signs only after publishAhead.
func newSigningKey(now time.Time, successor bool, publishAhead time.Duration) (signingKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return signingKey{}, err
	}
	kid := randomID(12)
	b, err := (&jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"}).MarshalJSON()
	if err != nil {
		return signingKey{}, err
	}
	active := now
	if successor {
		active = now.Add(publishAhead)
	}
	return signingKey{KID: kid, JWK: b, Created: now, Active: active}, nil
}

// signer returns the key that signs now: the newest active one.
func signer(keys []signingKey, now time.Time) (signingKey, bool) {
	for i := len(keys) - 1; i >= 0; i-- {
		if !keys[i].Active.After(now) {
			return keys[i], true
		}
	}
	return signingKey{}, false
}

// opSigningKey is a signingKey as op.SigningKey.
type opSigningKey struct{ sk signingKey }

func (s opSigningKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (s opSigningKey) Key() any                                    { return s.sk.priv }
func (s opSigningKey) ID() string                                  { return s.sk.KID }

// opKey is a published public key as op.Key.
type opKey struct{ sk signingKey }

func (k opKey) ID() string                         { return k.sk.KID }
func (k opKey) Algorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k opKey) Use() string                        { return "sig" }
func (k opKey) Key() any                           { return &k.sk.priv.PublicKey }

var (
	_ op.SigningKey = opSigningKey{}
	_ op.Key        = opKey{}
)
