package pod_test

import (
	"context"
	"crypto/ed25519"
	"testing"

	"podserver/netguard"
	"podserver/pod"
	"podserver/podtest"
	"podserver/webid"
)

// TestProfilePublishesSigningKey: a pod's profile carries the public half of
// its signing key, readable by the resolver other servers use.
func TestProfilePublishesSigningKey(t *testing.T) {
	s := podtest.RunServer(t, pod.Options{})
	ctx := context.Background()
	priv, keyID, err := s.SigningKey(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if keyID != s.PodRoot("alice")+"profile/card#key" {
		t.Errorf("key id = %q", keyID)
	}
	res := webid.NewResolver(webid.Options{Client: netguard.NewClient(netguard.Policy{AllowPrivate: true}, netguard.ClientOptions{})})
	prof, err := res.Profile(ctx, s.WebID("alice"))
	if err != nil {
		t.Fatal(err)
	}
	if prof.Inbox != s.PodRoot("alice")+"inbox/" {
		t.Errorf("inbox = %q", prof.Inbox)
	}
	pub, ok := prof.Keys[keyID]
	if !ok || !pub.Equal(priv.Public().(ed25519.PublicKey)) {
		t.Fatalf("profile keys %v lack the signing key %s", prof.Keys, keyID)
	}
	other, _, _ := s.SigningKey(ctx, "bob")
	if other.Equal(priv) {
		t.Error("two pods share a signing key")
	}
}
