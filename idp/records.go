package idp

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"podserver/store"
)

// Prefix is the store prefix of the identity provider's state
// (store.PrefixIDP). The second byte names the record kind:
//
//	"I" "k" + seq(8)                       -> signing key (JSON, private JWK)
//	"I" "a" + auth request id              -> auth request (JSON)
//	"I" "C" + sha256(code)                 -> code (JSON: auth request id, used)
//	"I" "r" + sha256(refresh token)        -> refresh token (JSON)
//	"I" "y" + family                       -> revocation time of a token family
//	"I" "t" + jti                          -> access token (JSON)
//	"I" "d" + client id                    -> registered client (JSON)
//	"I" "i" + client id                    -> pod of a client-credentials client
//	"I" "c" + pod + 0x00 + client id       -> client-credentials client (JSON)
//	"I" "g" + pod + 0x00 + app id          -> consent (JSON)
//	"I" "w" + pod                          -> password (JSON, argon2id hash)
//	"I" "v" + pod + 0x00 + client id       -> time before which every token
//	                                          of the client for the pod is revoked
//	"I" "l" + "pod"|"ip" + 0x00 + name     -> failed-login counter (limits.go)
//	"I" "x" + time(8) + key                -> "": key is due for deletion
//	                                          (expiry index, expiry.go)
const Prefix = store.PrefixIDP

// Record kinds (the second byte of a key).
const (
	kindKey      = 'k'
	kindAuth     = 'a'
	kindCode     = 'C'
	kindRefresh  = 'r'
	kindFamily   = 'y'
	kindToken    = 't'
	kindClient   = 'd'
	kindCCIndex  = 'i'
	kindCC       = 'c'
	kindConsent  = 'g'
	kindPassword = 'w'
	kindCut      = 'v'
)

func key(kind byte, parts ...string) []byte {
	b := []byte{Prefix[0], kind}
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

// podKeyPrefix is the prefix of kind's records of pod.
func podKeyPrefix(kind byte, pod string) []byte {
	return append(key(kind, pod), 0)
}

func hashed(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// randomID returns n random bytes as hex.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// secretToken returns a random 256-bit token, base64url-free of padding
// (rand.Text is base32, 26 characters = 130 bits; two make 260).
func secretToken() string { return rand.Text() + rand.Text() }

func getJSON(r store.Reader, k []byte, v any) (bool, error) {
	b, err := r.Get(k)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("idp: record %q: %w", k[:2], err)
	}
	return true, nil
}

func putJSON(tx store.Txn, k []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Set(k, b)
}

// tokenRecord is an issued access token, kept until it expires: the
// resource server refuses a token whose record is gone (revoked).
type tokenRecord struct {
	Pod      string    `json:"pod"`
	ClientID string    `json:"client"`
	Family   string    `json:"family,omitempty"` // refresh token family, for auth-code grants
	Consent  bool      `json:"consent,omitempty"`
	CC       bool      `json:"cc,omitempty"` // client credentials
	Issued   time.Time `json:"issued"`
	Expires  time.Time `json:"exp"`
}

// refreshRecord is a refresh token. A rotated one is kept (Rotated set)
// so that its reuse is detected and revokes the family.
type refreshRecord struct {
	Family   string    `json:"family"`
	Pod      string    `json:"pod"`
	WebID    string    `json:"webid"`
	ClientID string    `json:"client"`
	Scopes   []string  `json:"scopes"`
	AMR      []string  `json:"amr,omitempty"`
	AuthTime time.Time `json:"authTime"`
	JKT      string    `json:"jkt,omitempty"`
	Public   bool      `json:"public,omitempty"`
	Rotated  bool      `json:"rotated,omitempty"`
	Issued   time.Time `json:"issued"`
	Expires  time.Time `json:"exp"`
}

// consentRecord is an app the owner allowed on the consent page.
type consentRecord struct {
	ID        string     `json:"id"`
	ClientID  string     `json:"clientId"`
	Name      string     `json:"name"`
	ClientURI string     `json:"clientUri,omitempty"`
	Scopes    []string   `json:"scopes"`
	Created   time.Time  `json:"created"`
	LastUsed  *time.Time `json:"lastUsed,omitempty"`
}

// appID is the id of the consent of clientID: stable, URL-safe.
func appID(clientID string) string { return hashed(clientID)[:24] }

// ccRecord is a client-credentials client of a pod.
type ccRecord struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Hash     string     `json:"hash"`
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"lastUsed,omitempty"`
}

// passwordRecord is a pod's login password.
type passwordRecord struct {
	Hash    []byte    `json:"hash"`
	Salt    []byte    `json:"salt"`
	Time    uint32    `json:"t"`
	Memory  uint32    `json:"m"`
	Threads uint8     `json:"p"`
	Updated time.Time `json:"updated"`
}
