package acl

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// HeaderAPIKey is the request header that carries an API key.
const HeaderAPIKey = "X-Api-Key"

// credentials states what a request carried.
type credentials uint8

const (
	credNone      credentials = iota // no API key at all
	credMalformed                    // an API key header that cannot be read
	credKey                          // a readable API key
)

// CredentialsFromRequest returns the API key a request carries: the
// x-api-key header, else the password of an Authorization: Basic header (the
// user name is ignored). A repeated or empty x-api-key header, a Basic header
// that is not base64 of "user:password", or an empty password give ok false.
func CredentialsFromRequest(r *http.Request) (secret string, ok bool) {
	secret, c := readCredentials(r)
	return secret, c == credKey
}

// AuthenticateRequest authenticates the API key of r (see
// CredentialsFromRequest). It returns ErrNoKey when r carries no API key,
// ErrInvalidKey when the key is malformed, unknown or revoked.
func (k *Keys) AuthenticateRequest(r *http.Request) (Key, error) {
	secret, c := readCredentials(r)
	switch c {
	case credNone:
		return Key{}, ErrNoKey
	case credMalformed:
		return Key{}, ErrInvalidKey
	}
	return k.Authenticate(r.Context(), secret)
}

func readCredentials(r *http.Request) (string, credentials) {
	if vals := r.Header.Values(HeaderAPIKey); len(vals) > 0 {
		if len(vals) > 1 {
			return "", credMalformed
		}
		v := strings.TrimSpace(vals[0])
		if v == "" {
			return "", credMalformed
		}
		return v, credKey
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return "", credNone
	}
	scheme, token, _ := strings.Cut(auth, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", credNone // another scheme: not an API key
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
	if err != nil {
		return "", credMalformed
	}
	_, password, found := strings.Cut(string(raw), ":")
	if !found || password == "" {
		return "", credMalformed
	}
	return password, credKey
}
