package pod_test

// Who notification channels speak for and how long they live: push
// channels of a third party are not sent as the topic's pod, and channels
// end with the credential (API key, Solid-OIDC grant) that made them.

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"podserver/solidoidc/oidctest"
	"podserver/webhook"
)

// Any reader of alice's public profile may make a push channel on it, but
// alice's pod does not sign its POSTs nor name itself as their sender
// unless alice made the channel: it vouches for no request a third party
// aimed.
func TestNotifyPushNotSignedForOthers(t *testing.T) {
	s, _ := ntServer(t, "", "")
	card := s.PodRoot("alice") + "profile/card"
	hook := ntStartHook(t, "127.0.0.1:0")

	for _, tc := range []struct {
		name, typ, key string
		signed         bool
	}{
		{"crm's LDN channel", "LDNChannel2023", ntCRM, false},
		{"crm's webhook channel", "WebhookChannel2023", ntCRM, false},
		{"alice's LDN channel", "LDNChannel2023", ntAlice, true},
		{"alice's webhook channel", "WebhookChannel2023", ntAlice, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A stale state makes the channel send one notification at once.
			ch := ntSubscribe(t, s, "alice", tc.typ, tc.key, map[string]any{"topic": card, "sendTo": hook.url(), "state": "x"})
			want := ""
			if tc.signed {
				want = s.WebID("alice")
			}
			if ch.Sender != want {
				t.Errorf("sender %q, want %q", ch.Sender, want)
			}
			req := hook.next(t, 5*time.Second)
			ntExpect(t, ntParse(t, req.body), "Update", card, "")
			if tc.signed {
				ntVerifyPod(t, s, "alice", req)
			} else if req.hdr.Get("Signature") != "" || req.hdr.Get("Signature-Input") != "" {
				t.Errorf("signed as alice's pod: Signature-Input %q", req.hdr.Get("Signature-Input"))
			}
			if tc.typ == "WebhookChannel2023" {
				// The creator's own secret still signs (Standard Webhooks).
				if err := webhook.Verify(ch.Secret, req.hdr, req.body, 5*time.Minute); err != nil {
					t.Errorf("webhook signature: %v", err)
				}
			}
		})
	}
}

// An app key sees, reads and deletes only the channels it made, not those
// of its pod's owner key, though both act for the same WebID: a channel's
// receiveFrom URL is a capability to what its creator may read.
func TestNotifyChannelsOfOneClient(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	ctx := context.Background()
	app, _, err := s.Keys().Create(ctx, "alice", "lowapp", false)
	if err != nil {
		t.Fatal(err)
	}
	owner2, _, err := s.Keys().Create(ctx, "alice", "", true)
	if err != nil {
		t.Fatal(err)
	}
	owners := ntSubscribe(t, s, "alice", "StreamingHTTPChannel2023", ntAlice, map[string]any{"topic": root + ".acl"})
	apps := ntSubscribe(t, s, "alice", "StreamingHTTPChannel2023", app, map[string]any{"topic": root + "inbox/"})

	list := func(key string) []string {
		r := ntDo(t, "GET", root+".notifications/", key, "", "")
		if r.status != 200 {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		var doc struct {
			Channel []ntChannel `json:"channel"`
		}
		if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range doc.Channel {
			ids = append(ids, c.ID)
		}
		return ids
	}
	if ids := list(app); len(ids) != 1 || ids[0] != apps.ID {
		t.Errorf("the app key lists %v, want only its own %s", ids, apps.ID)
	}
	// Another owner key of the pod is the same creator: the owner.
	for _, key := range []string{ntAlice, owner2} {
		if ids := list(key); len(ids) != 1 || ids[0] != owners.ID {
			t.Errorf("an owner key lists %v, want %s", ids, owners.ID)
		}
	}
	for _, m := range []string{"GET", "DELETE"} {
		if r := ntDo(t, m, owners.ID, app, "", ""); r.status != http.StatusForbidden || strings.Contains(r.body, owners.ReceiveFrom) {
			t.Errorf("%s of the owner's channel with the app key: %d %s", m, r.status, r.body)
		}
		if r := ntDo(t, m, apps.ID, ntAlice, "", ""); r.status != http.StatusForbidden {
			t.Errorf("%s of the app's channel with the owner key: %d %s", m, r.status, r.body)
		}
	}
	if r := ntDo(t, "GET", owners.ID, ntAlice, "", ""); r.status != 200 {
		t.Errorf("the owner's channel is gone: %d %s", r.status, r.body)
	}
	if r := ntDo(t, "DELETE", apps.ID, app, "", ""); r.status != http.StatusNoContent {
		t.Errorf("the app deletes its own channel: %d %s", r.status, r.body)
	}
}

// ntStreamEnds waits for st to end, failing on any notification first.
func ntStreamEnds(t testing.TB, st *ntStream, what string) {
	t.Helper()
	select {
	case l, ok := <-st.lines:
		if ok {
			t.Fatalf("%s: the stream got %s", what, l)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: the stream is still open after 5s", what)
	}
}

// A channel made with an API key stops at once when the key is revoked:
// its open connections close and no further change reaches them.
func TestNotifyKeyRevokedStopsStream(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	ctx := context.Background()
	secret, key, err := s.Keys().Create(ctx, "alice", "", true)
	if err != nil {
		t.Fatal(err)
	}
	ntPut(t, root+"notes/hello", ntAlice, `{"http://schema.org/name": "v1"}`)
	ch := ntSubscribe(t, s, "alice", "StreamingHTTPChannel2023", secret, map[string]any{"topic": root + "notes/hello"})
	st := ntOpenStream(t, ch.ReceiveFrom)
	ntPut(t, root+"notes/hello", ntAlice, `{"http://schema.org/name": "v2"}`)
	ntExpect(t, st.nextMsg(t), "Update", root+"notes/hello", "")

	if err := s.Keys().Revoke(ctx, "alice", key.ID); err != nil {
		t.Fatal(err)
	}
	ntPut(t, root+"notes/hello", ntAlice, `{"http://schema.org/name": "v3"}`)
	ntStreamEnds(t, st, "after the key was revoked")
	if r := ntDo(t, "GET", ch.ReceiveFrom, "", "", ""); r.status != http.StatusNotFound {
		t.Errorf("receiveFrom after the key was revoked: %d %s", r.status, r.body)
	}
}

// oidcSubscribe makes a channel with a DPoP-bound token.
func oidcSubscribe(t testing.TB, key jose.JSONWebKey, service, token string, fields map[string]any) ntChannel {
	t.Helper()
	doc := map[string]any{"@context": []string{ntContext}}
	for k, v := range fields {
		doc[k] = v
	}
	b, _ := json.Marshal(doc)
	st, _, body := dpopDo(t, key, "POST", service, token, "application/ld+json", string(b), nil)
	if st != 200 {
		t.Fatalf("subscribe with a token: %d %s", st, body)
	}
	var ch ntChannel
	if err := json.Unmarshal([]byte(body), &ch); err != nil {
		t.Fatal(err)
	}
	return ch
}

// A channel made with a Solid-OIDC token of this server lives as long as
// the token's grant: deleting the client ends it (open connections close,
// new ones are refused), as it ends every token issued to the client.
func TestNotifyOIDCChannelEndsWithClient(t *testing.T) {
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	ntPut(t, root+"notes/hello", ntAlice, `{"http://schema.org/name": "v1"}`)
	client := createClient(t, s, "alice", ntAlice, "reviewer")
	key := oidctest.NewKey(t)
	st, token, body := clientCredentials(t, s, key, client.ID, client.Secret)
	if st != 200 {
		t.Fatalf("token: %d %s", st, body)
	}
	stream := oidcSubscribe(t, key, root+".notifications/streaming-http/", token,
		map[string]any{"type": "StreamingHTTPChannel2023", "topic": root + "notes/hello"})
	ws := oidcSubscribe(t, key, root+".notifications/websocket/", token,
		map[string]any{"type": "WebSocketChannel2023", "topic": root + "notes/hello"})
	// The channel is this server's token's: no expiry of its own.
	if end, err := time.Parse(time.RFC3339, stream.EndAt); err != nil || time.Until(end) < 24*time.Hour {
		t.Errorf("endAt %q: %v", stream.EndAt, err)
	}
	open := ntOpenStream(t, stream.ReceiveFrom)
	conn := ntDial(t, ws.ReceiveFrom)
	ntPut(t, root+"notes/hello", ntAlice, `{"http://schema.org/name": "v2"}`)
	ntExpect(t, open.nextMsg(t), "Update", root+"notes/hello", "")
	ntExpect(t, conn.nextMsg(t), "Update", root+"notes/hello", "")

	if st, _, out := conDo(t, "DELETE", client.URL, ntAlice, "", ""); st != http.StatusNoContent {
		t.Fatalf("delete the client: %d %s", st, out)
	}
	ntStreamEnds(t, open, "after the client was deleted")
	select {
	case <-conn.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the WebSocket is still open after the client was deleted")
	}
	ntPut(t, root+"notes/hello", ntAlice, `{"http://schema.org/name": "v3"}`)
	if r := ntDo(t, "GET", stream.ReceiveFrom, "", "", ""); r.status != http.StatusNotFound {
		t.Errorf("receiveFrom after the client was deleted: %d %s", r.status, r.body)
	}
}

// A channel made with another issuer's token ends when the token expires:
// this server cannot tell later whether it was revoked.
func TestNotifyForeignTokenBoundsChannel(t *testing.T) {
	iss := oidctest.NewIssuer(t)
	s, _ := ntServer(t, "", "")
	root := s.PodRoot("alice")
	ntGrantRead(t, s, "shared/", true)
	patch := `INSERT DATA { <#me> <http://www.w3.org/ns/solid/terms#oidcIssuer> <` + iss.URL + `> . }`
	if r := ntDo(t, "PATCH", s.PodRoot("bob")+"profile/card", ntBob, "application/sparql-update", patch); r.status/100 != 2 {
		t.Fatalf("PATCH bob's profile: %d %s", r.status, r.body)
	}
	key := oidctest.NewKey(t)
	exp := time.Now().Add(5 * time.Minute).Truncate(time.Second)
	token := iss.Token(t, time.Now(), s.WebID("bob"), key, oidctest.Claims{"exp": exp.Unix()})
	ch := oidcSubscribe(t, key, root+".notifications/websocket/", token,
		map[string]any{"type": "WebSocketChannel2023", "topic": root + "shared/doc"})
	end, err := time.Parse(time.RFC3339, ch.EndAt)
	if err != nil || !end.Equal(exp) {
		t.Errorf("endAt %q (%v), want the token's exp %s", ch.EndAt, err, exp.UTC().Format(time.RFC3339))
	}
}
