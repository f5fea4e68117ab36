package acl

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"podserver/store"
)

// fakeClock is a settable clock for Keys.now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countingStore counts Update calls.
type countingStore struct {
	store.Store
	updates atomic.Int64
}

func (s *countingStore) Update(ctx context.Context, fn func(tx store.Txn) error) error {
	s.updates.Add(1)
	return s.Store.Update(ctx, fn)
}

// newTestKeys returns a Keys over a real in-memory store whose change feed
// it follows, as the server wires it.
func newTestKeys(t *testing.T) (*Keys, *fakeClock, *countingStore) {
	t.Helper()
	var k *Keys // set before the first write
	mem, err := store.Open(store.Options{InMemory: true, ChangePrefixes: []string{store.PrefixKey},
		OnChange: func(ch []store.Change) { k.Observe(ch) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mem.Close() })
	st := &countingStore{Store: mem}
	k = NewKeys(st)
	clock := &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	k.now = clock.now
	t.Cleanup(k.Wait)
	return k, clock, st
}

func TestKeysCreateAuthenticate(t *testing.T) {
	ctx := context.Background()
	k, _, _ := newTestKeys(t)
	tests := []struct {
		pod, app string
		owner    bool
		wantApp  string
	}{
		{"alice", "", true, "owner"},
		{"alice", "owner", true, "owner"},
		{"alice", "crm.app_1-x", false, "crm.app_1-x"},
		{"bob-2", "cli", true, "cli"},
	}
	for _, tt := range tests {
		secret, key, err := k.Create(ctx, tt.pod, tt.app, tt.owner)
		if err != nil {
			t.Fatalf("Create(%q, %q): %v", tt.pod, tt.app, err)
		}
		if !strings.HasPrefix(secret, "pk_") || len(secret) != 3+43 {
			t.Errorf("secret %q: want pk_ + 43 base64url characters", secret)
		}
		if len(key.ID) != 16 || key.Pod != tt.pod || key.App != tt.wantApp || key.Owner != tt.owner || key.Created.IsZero() {
			t.Errorf("Create(%q, %q) key = %+v", tt.pod, tt.app, key)
		}
		got, err := k.Authenticate(ctx, secret)
		if err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
		if got.ID != key.ID || got.Pod != key.Pod || got.App != key.App || got.Owner != key.Owner || !got.Created.Equal(key.Created) {
			t.Errorf("Authenticate = %+v, want %+v", got, key)
		}
	}
}

func TestKeysInvalidNames(t *testing.T) {
	ctx := context.Background()
	k, _, _ := newTestKeys(t)
	tests := []struct {
		pod, app string
		owner    bool
		want     error
	}{
		{"", "app", false, ErrInvalidPod},
		{"Alice", "app", false, ErrInvalidPod},
		{"-alice", "app", false, ErrInvalidPod},
		{"al\x00ice", "app", false, ErrInvalidPod},
		{strings.Repeat("a", 64), "app", false, ErrInvalidPod},
		{"alice", "", false, ErrInvalidApp},
		{"alice", "App", false, ErrInvalidApp},
		{"alice", ".app", false, ErrInvalidApp},
		{"alice", "my app", false, ErrInvalidApp},
		{"alice", strings.Repeat("a", 64), false, ErrInvalidApp},
		{"alice", "owner", false, ErrInvalidApp},
	}
	for _, tt := range tests {
		if _, _, err := k.Create(ctx, tt.pod, tt.app, tt.owner); !errors.Is(err, tt.want) {
			t.Errorf("Create(%q, %q, %v) = %v, want %v", tt.pod, tt.app, tt.owner, err, tt.want)
		}
		if _, err := k.Import(ctx, tt.pod, tt.app, tt.owner, "demo-secret-0123456789"); !errors.Is(err, tt.want) {
			t.Errorf("Import(%q, %q, %v) = %v, want %v", tt.pod, tt.app, tt.owner, err, tt.want)
		}
	}
	if _, _, err := k.Create(ctx, "alice", strings.Repeat("a", 63), false); err != nil {
		t.Errorf("63-character app name: %v", err)
	}
}

func TestKeysWrongAndRevoked(t *testing.T) {
	ctx := context.Background()
	k, _, _ := newTestKeys(t)
	secret, key, err := k.Create(ctx, "alice", "crm", false)
	if err != nil {
		t.Fatal(err)
	}
	other, otherKey, err := k.Create(ctx, "bob", "crm", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "pk_wrong", secret + "x", secret[:len(secret)-1], strings.ToUpper(secret), strings.Repeat("x", 10000)} {
		if _, err := k.Authenticate(ctx, bad); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Authenticate(%.20q) = %v, want ErrInvalidKey", bad, err)
		}
	}
	// Revoking through another pod must fail and leave the key usable.
	if err := k.Revoke(ctx, "bob", key.ID); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Revoke from another pod = %v, want ErrKeyNotFound", err)
	}
	if _, err := k.Authenticate(ctx, secret); err != nil {
		t.Fatalf("key revoked through another pod: %v", err)
	}
	if err := k.Revoke(ctx, "alice", key.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if _, err := k.Authenticate(ctx, secret); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("revoked key: Authenticate = %v, want ErrInvalidKey", err)
	}
	for _, tt := range []struct{ pod, id string }{{"alice", key.ID}, {"alice", "nope"}, {"Bad Pod", key.ID}, {"alice", ""}} {
		if err := k.Revoke(ctx, tt.pod, tt.id); !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("Revoke(%q, %q) = %v, want ErrKeyNotFound", tt.pod, tt.id, err)
		}
	}
	if _, err := k.Authenticate(ctx, other); err != nil {
		t.Errorf("unrelated key stopped working: %v", err)
	}
	list, err := k.List(ctx, "alice")
	if err != nil || len(list) != 0 {
		t.Errorf("List(alice) after revoke = %v, %v", list, err)
	}
	list, err = k.List(ctx, "bob")
	if err != nil || len(list) != 1 || list[0].ID != otherKey.ID {
		t.Errorf("List(bob) = %v, %v", list, err)
	}
}

func TestKeysListAndRevokeAll(t *testing.T) {
	ctx := context.Background()
	k, clock, _ := newTestKeys(t)
	var ids []string
	for _, app := range []string{"c", "a", "b"} {
		_, key, err := k.Create(ctx, "alice", app, false)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, key.ID)
		clock.advance(time.Second)
	}
	// A pod whose name is a prefix of alice's must not see its keys.
	if _, _, err := k.Create(ctx, "alic", "x", false); err != nil {
		t.Fatal(err)
	}
	list, err := k.List(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("List = %d keys, want 3", len(list))
	}
	for i, key := range list {
		if key.ID != ids[i] {
			t.Errorf("List[%d] = %s, want %s (creation order)", i, key.ID, ids[i])
		}
	}
	if err := k.RevokeAll(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if list, _ := k.List(ctx, "alice"); len(list) != 0 {
		t.Errorf("after RevokeAll: %d keys", len(list))
	}
	if list, _ := k.List(ctx, "alic"); len(list) != 1 {
		t.Errorf("RevokeAll(alice) touched pod alic: %d keys", len(list))
	}
	if _, err := k.List(ctx, "Bad"); !errors.Is(err, ErrInvalidPod) {
		t.Errorf("List(Bad) = %v", err)
	}
}

func TestKeysImport(t *testing.T) {
	ctx := context.Background()
	k, _, _ := newTestKeys(t)
	const secret = "demo-alice-key-0001"
	key, err := k.Import(ctx, "alice", "crm", false, secret)
	if err != nil {
		t.Fatal(err)
	}
	again, err := k.Import(ctx, "alice", "crm", false, secret)
	if err != nil {
		t.Fatalf("second Import: %v", err)
	}
	if again.ID != key.ID || !again.Created.Equal(key.Created) {
		t.Errorf("second Import = %+v, want the same key %+v", again, key)
	}
	// Re-importing with another app updates the key in place.
	up, err := k.Import(ctx, "alice", "owner", true, secret)
	if err != nil || up.ID != key.ID || up.App != "owner" || !up.Owner {
		t.Errorf("Import as owner = %+v, %v", up, err)
	}
	got, err := k.Authenticate(ctx, secret)
	if err != nil || got.ID != key.ID || !got.Owner {
		t.Errorf("Authenticate imported = %+v, %v", got, err)
	}
	if list, _ := k.List(ctx, "alice"); len(list) != 1 {
		t.Errorf("List after three imports = %d keys, want 1", len(list))
	}
	if _, err := k.Import(ctx, "bob", "crm", false, secret); !errors.Is(err, ErrKeyConflict) {
		t.Errorf("Import into another pod = %v, want ErrKeyConflict", err)
	}
	for _, bad := range []string{"short", "has a space in it!!", strings.Repeat("x", 513), "tab\there-0123456789"} {
		if _, err := k.Import(ctx, "alice", "crm", false, bad); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Import(%.20q) = %v, want ErrInvalidKey", bad, err)
		}
	}
}

func TestKeysLastUsedDebounced(t *testing.T) {
	ctx := context.Background()
	k, clock, st := newTestKeys(t)
	secret, _, err := k.Create(ctx, "alice", "crm", false)
	if err != nil {
		t.Fatal(err)
	}
	lastUsed := func() time.Time {
		t.Helper()
		k.Wait()
		list, err := k.List(ctx, "alice")
		if err != nil || len(list) != 1 {
			t.Fatalf("List = %v, %v", list, err)
		}
		return list[0].LastUsed
	}
	if !lastUsed().IsZero() {
		t.Fatal("LastUsed set before first use")
	}
	base := st.updates.Load()
	first := clock.now()
	for range 100 {
		if _, err := k.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
	}
	if got := lastUsed(); !got.Equal(first) {
		t.Errorf("LastUsed = %v, want %v", got, first)
	}
	if n := st.updates.Load() - base; n != 1 {
		t.Errorf("100 authentications in one minute wrote %d times, want 1", n)
	}
	clock.advance(30 * time.Second)
	k.Authenticate(ctx, secret)
	if n := st.updates.Load() - base; n != 1 {
		t.Errorf("after 30s: %d writes, want 1", n)
	}
	clock.advance(31 * time.Second)
	k.Authenticate(ctx, secret)
	if got, want := lastUsed(), clock.now(); !got.Equal(want) {
		t.Errorf("LastUsed after a minute = %v, want %v", got, want)
	}
	if n := st.updates.Load() - base; n != 2 {
		t.Errorf("after 61s: %d writes, want 2", n)
	}
	// A new Keys (a restart) trusts the stored LastUsed and does not write.
	k2 := NewKeys(st)
	k2.now = clock.now
	k2.Authenticate(ctx, secret)
	k2.Wait()
	if n := st.updates.Load() - base; n != 2 {
		t.Errorf("after restart: %d writes, want 2", n)
	}
}

func TestKeysConcurrent(t *testing.T) {
	ctx := context.Background()
	k, clock, _ := newTestKeys(t)
	secret, _, err := k.Create(ctx, "alice", "crm", false)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := k.Authenticate(ctx, secret); err != nil {
					t.Error(err)
					return
				}
				if i == 0 {
					clock.advance(20 * time.Second)
				}
			}
		})
		wg.Go(func() {
			if _, _, err := k.Create(ctx, "bob", "app", false); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if list, _ := k.List(ctx, "bob"); len(list) != 8 {
		t.Errorf("bob has %d keys, want 8", len(list))
	}
}

// TestKeysSecretNeverLeaks checks that no error and no stored byte holds a
// secret.
func TestKeysSecretNeverLeaks(t *testing.T) {
	ctx := context.Background()
	mem := newMemStore(t)
	k := NewKeys(mem)
	t.Cleanup(k.Wait)
	secret, key, err := k.Create(ctx, "alice", "crm", false)
	if err != nil {
		t.Fatal(err)
	}
	const imported = "imported-demo-secret-42"
	if _, err := k.Import(ctx, "alice", "demo", false, imported); err != nil {
		t.Fatal(err)
	}
	var errs []error
	_, err = k.Authenticate(ctx, secret+"x")
	errs = append(errs, err)
	_, err = k.Authenticate(ctx, imported+"x")
	errs = append(errs, err)
	_, err = k.Import(ctx, "bob", "crm", false, imported)
	errs = append(errs, err)
	_, err = k.Import(ctx, "alice", "Bad App", false, secret)
	errs = append(errs, err)
	_, err = k.Import(ctx, "alice", "crm", false, secret[:10])
	errs = append(errs, err)
	_, err = k.Import(ctx, "alice", "crm", false, secret+" "+secret)
	errs = append(errs, err)
	errs = append(errs, k.Revoke(ctx, "bob", key.ID))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("u:"+secret+"x")))
	_, err = k.AuthenticateRequest(req)
	errs = append(errs, err)
	k.Wait()
	data := dumpStore(t, mem)
	mem.Close()
	_, err = k.Authenticate(ctx, secret)
	errs = append(errs, err)
	_, err = k.Import(ctx, "alice", "crm", false, imported)
	errs = append(errs, err)

	for i, err := range errs {
		if err == nil {
			t.Errorf("errs[%d] is nil", i)
			continue
		}
		for _, s := range []string{secret, imported, secret[3:13]} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("errs[%d] %q holds a secret", i, err)
			}
		}
	}
	for key, value := range data {
		for _, s := range []string{secret, imported} {
			if strings.Contains(key, s) || bytes.Contains(value, []byte(s)) {
				t.Errorf("store entry %q holds a secret", key)
			}
		}
	}
}

// TestKeysFollowFeed checks that the authentication cache follows the
// store's change feed: a key record deleted or changed by a direct store
// write (no Revoke, no Import) is seen by the next Authenticate, while the
// LastUsed writes of keys in use leave the cache alone.
func TestKeysFollowFeed(t *testing.T) {
	ctx := context.Background()
	k, clock, st := newTestKeys(t)
	secret, key, err := k.Create(ctx, "alice", "crm", false)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := k.Create(ctx, "alice", "cli", false)
	if err != nil {
		t.Fatal(err)
	}
	auth := func(s string) (Key, error) {
		t.Helper()
		got, err := k.Authenticate(ctx, s)
		k.Wait() // the LastUsed write, if any, is durable and reported
		return got, err
	}
	if _, err := auth(secret); err != nil {
		t.Fatal(err)
	}
	if _, err := auth(other); err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte(secret))

	// A LastUsed write of a cached key changes no answer: no new generation.
	gen := k.watch.Generation()
	clock.advance(2 * time.Minute)
	if _, err := auth(secret); err != nil {
		t.Fatal(err)
	}
	if rec := readRecord(t, st, hash); !rec.LastUsed.Equal(clock.now()) {
		t.Fatalf("LastUsed = %v, want a write at %v", rec.LastUsed, clock.now())
	}
	if got := k.watch.Generation(); got != gen {
		t.Errorf("a LastUsed write advanced the key watch: %d -> %d", gen, got)
	}

	// The app of the key changed by a direct write: the next request sees it.
	rec := readRecord(t, st, hash)
	rec.App = "renamed"
	if err := st.Update(ctx, func(tx store.Txn) error { return putRecord(tx, hash, rec) }); err != nil {
		t.Fatal(err)
	}
	if got, err := auth(secret); err != nil || got.App != "renamed" {
		t.Errorf("after a direct change: %+v, %v; want app renamed", got, err)
	}

	// Revoked by deleting its records directly: refused on the next request.
	err = st.Update(ctx, func(tx store.Txn) error {
		if err := tx.Delete(recordKey(hash)); err != nil {
			return err
		}
		return tx.Delete(indexKey("alice", key.ID))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth(secret); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("key deleted in the store: Authenticate = %v, want ErrInvalidKey", err)
	}
	if _, err := auth(other); err != nil {
		t.Errorf("the other key: %v", err)
	}
}

func readRecord(t *testing.T, st store.Store, hash [sha256.Size]byte) keyRecord {
	t.Helper()
	var rec keyRecord
	err := st.View(context.Background(), func(r store.Reader) error {
		var err error
		rec, err = getRecord(r, hash)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// The last owner key of a pod is not revoked unless forced; app keys and
// an owner key with another beside it are.
func TestRevokeLastOwnerKey(t *testing.T) {
	k, _, _ := newTestKeys(t)
	ctx := context.Background()
	_, first, err := k.Create(ctx, "alice", "", true)
	if err != nil {
		t.Fatal(err)
	}
	_, app, err := k.Create(ctx, "alice", "notes", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Revoke(ctx, "alice", first.ID); !errors.Is(err, ErrLastOwnerKey) {
		t.Fatalf("revoke the only owner key = %v, want ErrLastOwnerKey", err)
	}
	secret2, second, err := k.Create(ctx, "alice", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Revoke(ctx, "alice", first.ID); err != nil {
		t.Fatalf("revoke an owner key with another beside it: %v", err)
	}
	if err := k.Revoke(ctx, "alice", second.ID); !errors.Is(err, ErrLastOwnerKey) {
		t.Fatalf("revoke the remaining owner key = %v, want ErrLastOwnerKey", err)
	}
	if _, err := k.Authenticate(ctx, secret2); err != nil {
		t.Fatalf("the refused revocation revoked: %v", err)
	}
	if err := k.Revoke(ctx, "alice", app.ID); err != nil {
		t.Fatalf("revoke an app key: %v", err)
	}
	if err := k.ForceRevoke(ctx, "alice", second.ID); err != nil {
		t.Fatalf("ForceRevoke: %v", err)
	}
	if keys, _ := k.List(ctx, "alice"); len(keys) != 0 {
		t.Errorf("after ForceRevoke alice has %d keys, want 0", len(keys))
	}
}
