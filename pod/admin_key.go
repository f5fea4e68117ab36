package pod

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"podserver/acl"
	"podserver/store"
)

// operatorKeyKey is where the SHA-256 hash of the operator key is stored
// (store.PrefixOperator).
var operatorKeyKey = []byte(store.PrefixOperator + "key")

// operatorKeyPrefix starts every generated operator key.
const operatorKeyPrefix = "op_"

// minOperatorKey is the shortest operator key Options.OperatorKey may set.
const minOperatorKey = 16

// ErrWeakOperatorKey is returned by New for an Options.OperatorKey that is
// too short or holds spaces or control characters.
var ErrWeakOperatorKey = fmt.Errorf("operator key: use at least %d printable characters without spaces", minOperatorKey)

// setupOperatorKey stores the hash of key, replacing any stored one, when
// key is set; otherwise it generates a key when the store holds none and
// returns it (the only time it is known). Of nodes starting together on one
// shared store, one generates the key.
func (s *Server) setupOperatorKey(ctx context.Context, key string) (generated string, err error) {
	if key != "" {
		if len(key) < minOperatorKey || strings.ContainsFunc(key, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return "", ErrWeakOperatorKey
		}
		h := sha256.Sum256([]byte(key))
		err := s.st.Update(ctx, func(tx store.Txn) error {
			if old, err := tx.Get(operatorKeyKey); err == nil && subtle.ConstantTimeCompare(old, h[:]) == 1 {
				return nil // unchanged: no write
			}
			return tx.Set(operatorKeyKey, h[:])
		})
		if err != nil {
			return "", fmt.Errorf("store the operator key: %w", err)
		}
		return "", nil
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	candidate := operatorKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(candidate))
	err = s.st.Update(ctx, func(tx store.Txn) error {
		generated = ""
		if _, err := tx.Get(operatorKeyKey); err == nil {
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		generated = candidate
		return tx.Set(operatorKeyKey, h[:])
	})
	if err != nil {
		return "", fmt.Errorf("generate the operator key: %w", err)
	}
	if generated != "" {
		s.log.Info("operator key generated: it is shown once, stored only as a hash")
	}
	return generated, nil
}

// authorizeOperator checks that r carries the operator key (Authorization:
// Bearer KEY or X-Api-Key: KEY). It compares hashes in constant time; the
// stored hash is read for each request, so a key replaced by another node
// applies at once.
func (s *Server) authorizeOperator(ctx context.Context, r *http.Request) error {
	secret, ok := operatorCredentials(r)
	if !ok {
		return errAdminKey
	}
	var stored []byte
	err := s.st.View(ctx, func(rd store.Reader) error {
		var err error
		stored, err = rd.Get(operatorKeyKey)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return errAdminKey
	}
	if err != nil {
		return err
	}
	h := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(stored, h[:]) != 1 {
		return errAdminKey
	}
	return nil
}

// operatorCredentials returns the key of Authorization: Bearer KEY, or the
// API key of r as pod keys are sent (X-Api-Key, Basic).
func operatorCredentials(r *http.Request) (string, bool) {
	if scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "Bearer") {
		token = strings.TrimSpace(token)
		return token, token != ""
	}
	return acl.CredentialsFromRequest(r)
}
