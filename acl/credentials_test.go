package acl

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"testing"
)

func basic(s string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(s))
}

func TestCredentialsFromRequest(t *testing.T) {
	tests := []struct {
		name    string
		headers [][2]string
		want    string
		ok      bool
	}{
		{"none", nil, "", false},
		{"x-api-key", [][2]string{{"x-api-key", "pk_abc"}}, "pk_abc", true},
		{"X-API-KEY spelling", [][2]string{{"X-API-KEY", "pk_abc"}}, "pk_abc", true},
		{"x-api-key trimmed", [][2]string{{"x-api-key", "  pk_abc "}}, "pk_abc", true},
		{"x-api-key empty", [][2]string{{"x-api-key", " "}}, "", false},
		{"x-api-key twice", [][2]string{{"x-api-key", "a"}, {"x-api-key", "b"}}, "", false},
		{"x-api-key wins over basic", [][2]string{{"x-api-key", "pk_1"}, {"Authorization", basic("u:pk_2")}}, "pk_1", true},
		{"basic", [][2]string{{"Authorization", basic("anything:pk_abc")}}, "pk_abc", true},
		{"basic empty user", [][2]string{{"Authorization", basic(":pk_abc")}}, "pk_abc", true},
		{"basic password with colon", [][2]string{{"Authorization", basic("u:pk:abc")}}, "pk:abc", true},
		{"basic lower-case scheme", [][2]string{{"Authorization", "basic " + base64.StdEncoding.EncodeToString([]byte("u:k"))}}, "k", true},
		{"basic no colon", [][2]string{{"Authorization", basic("pk_abc")}}, "", false},
		{"basic empty password", [][2]string{{"Authorization", basic("user:")}}, "", false},
		{"basic not base64", [][2]string{{"Authorization", "Basic %%%"}}, "", false},
		{"basic no token", [][2]string{{"Authorization", "Basic"}}, "", false},
		{"bearer", [][2]string{{"Authorization", "Bearer pk_abc"}}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/alice/publish/", nil)
			for _, h := range tt.headers {
				r.Header.Add(h[0], h[1])
			}
			got, ok := CredentialsFromRequest(r)
			if got != tt.want || ok != tt.ok {
				t.Errorf("CredentialsFromRequest = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestAuthenticateRequest(t *testing.T) {
	k, _, _ := newTestKeys(t)
	secret, key, err := k.Create(context.Background(), "alice", "crm", false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		headers [][2]string
		want    error
	}{
		{"no key", nil, ErrNoKey},
		{"bearer is no api key", [][2]string{{"Authorization", "Bearer x"}}, ErrNoKey},
		{"malformed basic", [][2]string{{"Authorization", "Basic !!"}}, ErrInvalidKey},
		{"empty x-api-key", [][2]string{{"x-api-key", ""}}, ErrInvalidKey},
		{"wrong key", [][2]string{{"x-api-key", "pk_nope"}}, ErrInvalidKey},
		{"x-api-key", [][2]string{{"x-api-key", secret}}, nil},
		{"basic", [][2]string{{"Authorization", basic("crm:" + secret)}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/alice/publish/", nil)
			for _, h := range tt.headers {
				r.Header.Add(h[0], h[1])
			}
			got, err := k.AuthenticateRequest(r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("AuthenticateRequest = %v, want %v", err, tt.want)
			}
			if err == nil && got.ID != key.ID {
				t.Errorf("AuthenticateRequest = %+v, want %+v", got, key)
			}
		})
	}
}
