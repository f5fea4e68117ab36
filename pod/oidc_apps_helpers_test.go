package pod_test

// Helpers of the tests that log in at this server's identity provider as
// apps do (oidc_browser_test.go, oidc_node_test.go, the console's Clients
// page): the owner APIs of issue 17 and DPoP-bound requests made with
// solidoidc/oidctest's proofs.

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"podserver/pod"
	"podserver/solidoidc/oidctest"
)

// issuerOf returns s's issuer: its base URL with a trailing slash.
func issuerOf(s *pod.Server) string {
	return strings.TrimSuffix(s.BaseURL(), "/") + "/"
}

// ownerClient is a client of {pod}/settings/clients/ as its POST answers.
type ownerClient struct {
	ID     string `json:"id"`
	URL    string `json:"url"`
	Name   string `json:"name"`
	WebID  string `json:"webid"`
	Secret string `json:"secret"`
}

// createClient makes client credentials for podName with its owner key.
func createClient(t testing.TB, s *pod.Server, podName, ownerKey, name string) ownerClient {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name})
	st, hdr, out := conDo(t, "POST", s.PodRoot(podName)+"settings/clients/", ownerKey, "application/json", string(body))
	if st != http.StatusCreated {
		t.Fatalf("create client credentials: %d %s", st, out)
	}
	var c ownerClient
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("create client credentials: %v in %s", err, out)
	}
	if c.ID == "" || c.Secret == "" || hdr.Get("Location") == "" {
		t.Fatalf("create client credentials: no id, secret or Location: %s %v", out, hdr)
	}
	return c
}

// dpopDo sends one request with Authorization: DPoP token (when not "")
// and a fresh proof by key; it returns the status, headers and body.
func dpopDo(t testing.TB, key jose.JSONWebKey, method, target, token, ctype, body string, hdr http.Header) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	extra := oidctest.Claims{}
	if token == "" {
		extra["ath"] = nil
	} else {
		req.Header.Set("Authorization", "DPoP "+token)
	}
	u := *req.URL
	u.RawQuery, u.Fragment = "", ""
	req.Header.Set("DPoP", oidctest.Proof(t, key, method, u.String(), token, time.Now(), extra))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(b)
}

// clientCredentials asks s's token endpoint for a DPoP-bound access token
// with the client_credentials grant (client_secret_basic); it returns the
// status, the token ("" when refused) and the body.
func clientCredentials(t testing.TB, s *pod.Server, key jose.JSONWebKey, clientID, secret string) (int, string, string) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"webid"}}.Encode()
	// RFC 6749 2.3.1: both form-encoded, then Basic.
	cred := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(clientID) + ":" + url.QueryEscape(secret)))
	basic := http.Header{"Authorization": {"Basic " + cred}}
	st, _, body := dpopDo(t, key, "POST", issuerOf(s)+".oidc/token", "", "application/x-www-form-urlencoded", form, basic)
	if st != http.StatusOK {
		return st, "", body
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal([]byte(body), &tok); err != nil {
		t.Fatalf("token response: %v in %s", err, body)
	}
	if !strings.EqualFold(tok.TokenType, "DPoP") || tok.AccessToken == "" {
		t.Fatalf("token response: want a DPoP token, got %s", body)
	}
	return st, tok.AccessToken, body
}
