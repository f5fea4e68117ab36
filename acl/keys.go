package acl

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"podserver/podurl"
	"podserver/store"
)

// Key layout (prefixes owned by this package, see store/keyspace.go):
//
//	"k" + sha256(secret)      -> keyRecord as JSON
//	"K" + pod + 0x00 + key id -> sha256(secret) (32 bytes)
//
// Both keys of one API key are always written and deleted in the same
// transaction, so the index never points at a missing record.

const (
	// secretPrefix starts every generated secret, so leaked keys are easy to
	// recognise by secret scanners.
	secretPrefix = "pk_"
	// minImportedSecret and maxSecret bound the length of secrets.
	minImportedSecret = 16
	maxSecret         = 512
	// touchInterval is how often at most LastUsed is written per key.
	touchInterval = time.Minute
	// touchTimeout bounds one asynchronous LastUsed write.
	touchTimeout = 10 * time.Second
	// maxTouched bounds the debounce map; older entries are pruned past it.
	maxTouched = 10000
	// ownerApp is the app name reserved for owner keys.
	ownerApp = "owner"
)

// Key is an API key as stored, without its secret. ID is public: it names
// the key when listing and revoking. Pod is the pod the key acts for (its
// WebID is the agent) and App the app it names (the instrument).
type Key struct {
	ID       string    `json:"id"`
	Pod      string    `json:"pod"`
	App      string    `json:"app"`
	Owner    bool      `json:"owner"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"lastUsed,omitzero"`
}

// keyRecord is the stored form of a key.
type keyRecord struct {
	Key
	// Hash is the hex SHA-256 of the secret, compared in constant time on
	// every authentication.
	Hash string `json:"hash"`
}

// Keys creates, authenticates, lists and revokes API keys. It is safe for
// concurrent use. Secrets are returned once, by Create, and stored only as
// SHA-256 hashes; they never appear in errors.
type Keys struct {
	st  store.Store
	now func() time.Time

	mu      sync.Mutex
	touched map[string]time.Time // key id -> last LastUsed write started
	pending sync.WaitGroup       // asynchronous LastUsed writes

	// cache holds recently authenticated keys by secret hash, so the hot
	// path skips the store read. It follows the store's change feed
	// through watch (see Observe and store.Watch): an entry is stamped
	// with the generation loaded before its record was read and used only
	// while that generation is current.
	watch *store.Watch
	cmu   sync.Mutex
	cache map[[sha256.Size]byte]cachedKey
}

// cachedKey is an authenticated key, the watch generation it was read
// under, and when its cache entry expires.
type cachedKey struct {
	key     Key
	gen     uint64
	expires time.Time
}

// Cache bounds: entries live at most keyCacheTTL (a bound on memory and on
// LastUsed drift; changes reach the cache through the feed), and the cache
// is emptied when it reaches keyCacheSize entries.
const (
	keyCacheTTL  = 30 * time.Second
	keyCacheSize = 10000
)

// NewKeys returns a Keys that keeps its records in st. Feed Observe the
// store's change feed (store.PrefixKey among the ChangePrefixes) from before
// the first Authenticate: that is how a revocation, or any other change of
// a key record, reaches the authentication cache, whoever wrote it.
func NewKeys(st store.Store) *Keys {
	k := &Keys{st: st, now: time.Now, touched: make(map[string]time.Time), cache: make(map[[sha256.Size]byte]cachedKey)}
	k.watch = store.NewWatch(k.relevant)
	return k
}

// Observe takes a batch of the store's durable changes, in commit order
// (store.Options.OnChange). Any change of a key record that can change an
// authentication makes every cached authentication stale.
func (k *Keys) Observe(changes []store.Change) { k.watch.Observe(changes) }

// Reset makes every cached key stale, for when the change feed may have
// missed changes (pgstore.Options.OnReset).
func (k *Keys) Reset() { k.watch.Reset() }

// relevant reports whether ch can change what Authenticate answers: the
// delete of a key record, or a write of one other than a LastUsed update of
// a cached key (which changes no answer, and happens once a minute per key
// in use). It runs on the store's writer goroutine.
func (k *Keys) relevant(ch store.Change) bool {
	h, ok := bytes.CutPrefix(ch.Key, []byte(store.PrefixKey))
	if !ok || len(h) != sha256.Size {
		return false
	}
	if ch.Deleted {
		return true
	}
	var rec keyRecord
	if err := json.Unmarshal(ch.Value, &rec); err != nil {
		return true
	}
	k.cmu.Lock()
	c, cached := k.cache[[sha256.Size]byte(h)]
	k.cmu.Unlock()
	return !cached || c.key.ID != rec.ID || c.key.Pod != rec.Pod || c.key.App != rec.App || c.key.Owner != rec.Owner
}

// Create makes a new key for pod and app and returns its secret, which is not
// stored and cannot be recovered. Owner keys may use any valid app name,
// including the reserved "owner"; an empty app on an owner key means "owner".
func (k *Keys) Create(ctx context.Context, pod, app string, owner bool) (secret string, key Key, err error) {
	if owner && app == "" {
		app = ownerApp
	}
	if err := validateKeyNames(pod, app, owner); err != nil {
		return "", Key{}, err
	}
	raw := make([]byte, 32)
	rand.Read(raw) // never fails (crypto/rand)
	secret = secretPrefix + base64.RawURLEncoding.EncodeToString(raw)
	hash := sha256.Sum256([]byte(secret))
	key, err = k.insert(ctx, hash, pod, app, owner, false)
	if err != nil {
		return "", Key{}, err
	}
	return secret, key, nil
}

// Import stores a key with a known secret, for demo fixtures. Importing a
// secret that already belongs to pod is not an error: the key keeps its id
// and creation time and takes app and owner from this call. A secret bound to
// another pod gives ErrKeyConflict. Secrets must be 16 to 512 printable ASCII
// characters without spaces.
func (k *Keys) Import(ctx context.Context, pod, app string, owner bool, secret string) (Key, error) {
	if owner && app == "" {
		app = ownerApp
	}
	if err := validateKeyNames(pod, app, owner); err != nil {
		return Key{}, err
	}
	if len(secret) < minImportedSecret || len(secret) > maxSecret || !printable(secret) {
		return Key{}, fmt.Errorf("%w: an imported secret must be %d to %d printable ASCII characters without spaces",
			ErrInvalidKey, minImportedSecret, maxSecret)
	}
	return k.insert(ctx, sha256.Sum256([]byte(secret)), pod, app, owner, true)
}

// insert stores a new key record and its index entry in one transaction.
// When the hash is already stored and reuse is set, the existing key of the
// same pod is updated and returned instead (Import). It retries with a new id
// in the unlikely case the random id is taken.
func (k *Keys) insert(ctx context.Context, hash [sha256.Size]byte, pod, app string, owner, reuse bool) (Key, error) {
	errTaken := errors.New("key id taken")
	for range 3 {
		key := Key{ID: newKeyID(), Pod: pod, App: app, Owner: owner, Created: k.now().UTC()}
		err := k.st.Update(ctx, func(tx store.Txn) error {
			rec, err := getRecord(tx, hash)
			switch {
			case err == nil:
				if !reuse || rec.Pod != pod {
					return ErrKeyConflict
				}
				if rec.App == app && rec.Owner == owner {
					key = rec.Key
					return nil // nothing to change: no write
				}
				rec.App, rec.Owner = app, owner
				key = rec.Key
				return putRecord(tx, hash, rec)
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
			if _, err := tx.Get(indexKey(pod, key.ID)); err == nil {
				return errTaken
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err := putRecord(tx, hash, keyRecord{Key: key}); err != nil {
				return err
			}
			return tx.Set(indexKey(pod, key.ID), hash[:])
		})
		if errors.Is(err, errTaken) {
			continue
		}
		if errors.Is(err, ErrKeyConflict) {
			return Key{}, err
		}
		if err != nil {
			return Key{}, fmt.Errorf("acl: store key: %w", err)
		}
		return key, nil
	}
	return Key{}, errors.New("acl: could not allocate a key id")
}

// Authenticate returns the key whose secret this is, or ErrInvalidKey. It
// records the key's LastUsed time at most once per minute per key, in the
// background; call Wait before closing the store.
func (k *Keys) Authenticate(ctx context.Context, secret string) (Key, error) {
	if secret == "" || len(secret) > maxSecret {
		return Key{}, ErrInvalidKey
	}
	hash := sha256.Sum256([]byte(secret))
	now := k.now()
	gen := k.watch.Generation()
	k.cmu.Lock()
	c, ok := k.cache[hash]
	k.cmu.Unlock()
	if ok && now.Before(c.expires) && k.watch.Current(c.gen) {
		k.touch(ctx, hash, c.key)
		return c.key, nil
	}
	var rec keyRecord
	err := k.st.View(ctx, func(r store.Reader) error {
		var err error
		rec, err = getRecord(r, hash)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Key{}, ErrInvalidKey
	}
	if err != nil {
		return Key{}, fmt.Errorf("acl: look up key: %w", err)
	}
	stored, err := hex.DecodeString(rec.Hash)
	if err != nil || subtle.ConstantTimeCompare(stored, hash[:]) != 1 {
		return Key{}, ErrInvalidKey
	}
	k.cmu.Lock()
	if k.watch.Current(gen) {
		if len(k.cache) >= keyCacheSize {
			clear(k.cache)
		}
		k.cache[hash] = cachedKey{key: rec.Key, gen: gen, expires: now.Add(keyCacheTTL)}
	}
	k.cmu.Unlock()
	k.touch(ctx, hash, rec.Key)
	return rec.Key, nil
}

// touch starts an asynchronous LastUsed write unless one was written or
// started less than touchInterval ago.
func (k *Keys) touch(ctx context.Context, hash [sha256.Size]byte, key Key) {
	now := k.now().UTC()
	if now.Sub(key.LastUsed) < touchInterval {
		return
	}
	k.mu.Lock()
	if last, ok := k.touched[key.ID]; ok && now.Sub(last) < touchInterval {
		k.mu.Unlock()
		return
	}
	if len(k.touched) >= maxTouched {
		for id, t := range k.touched {
			if now.Sub(t) >= touchInterval {
				delete(k.touched, id)
			}
		}
	}
	k.touched[key.ID] = now
	k.pending.Add(1)
	k.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), touchTimeout)
	go func() {
		defer k.pending.Done()
		defer cancel()
		// Best effort: a failed write only leaves LastUsed older.
		_ = k.st.Update(ctx, func(tx store.Txn) error {
			rec, err := getRecord(tx, hash)
			if err != nil {
				return nil // revoked meanwhile: do not resurrect it
			}
			if !rec.LastUsed.Before(now) {
				return nil
			}
			rec.LastUsed = now
			return putRecord(tx, hash, rec)
		})
	}()
}

// Wait blocks until every background LastUsed write has finished. Call it
// after the server stopped taking requests and before closing the store.
func (k *Keys) Wait() {
	k.pending.Wait()
}

// Revoke deletes the key with the given id from pod. It returns
// ErrKeyNotFound when pod has no such key (including a key of another pod),
// and ErrLastOwnerKey, revoking nothing, when the key is the pod's last
// owner key: nobody could then administer the pod.
func (k *Keys) Revoke(ctx context.Context, pod, id string) error {
	return k.revoke(ctx, pod, id, false)
}

// ForceRevoke is Revoke that also revokes a pod's last owner key. The pod
// then has no owner key until one is made with the CLI (podserver key
// create --owner), which opens the store directly.
func (k *Keys) ForceRevoke(ctx context.Context, pod, id string) error {
	return k.revoke(ctx, pod, id, true)
}

func (k *Keys) revoke(ctx context.Context, pod, id string, force bool) error {
	if !podurl.ValidName(pod) {
		return ErrKeyNotFound
	}
	err := k.st.Update(ctx, func(tx store.Txn) error {
		hash, err := tx.Get(indexKey(pod, id))
		if errors.Is(err, store.ErrNotFound) {
			return ErrKeyNotFound
		}
		if err != nil {
			return err
		}
		if !force {
			owners, revoked, err := ownerKeys(tx, pod, id)
			if err != nil {
				return err
			}
			if revoked && owners == 1 {
				return ErrLastOwnerKey
			}
		}
		if err := tx.Delete(append([]byte(store.PrefixKey), hash...)); err != nil {
			return err
		}
		return tx.Delete(indexKey(pod, id))
	})
	if err != nil && !errors.Is(err, ErrKeyNotFound) && !errors.Is(err, ErrLastOwnerKey) {
		return fmt.Errorf("acl: revoke key: %w", err)
	}
	return err
}

// ownerKeys counts pod's owner keys in r and reports whether the key with
// id is one of them.
func ownerKeys(r store.Reader, pod, id string) (n int, isOwner bool, err error) {
	var hashes [][]byte
	err = r.Scan(indexPrefix(pod), nil, false, func(_, hash []byte) error {
		hashes = append(hashes, slices.Clone(hash))
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	for _, h := range hashes {
		v, err := r.Get(append([]byte(store.PrefixKey), h...))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, false, err
		}
		var rec keyRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return 0, false, fmt.Errorf("key record of %s: %w", pod, err)
		}
		if rec.Owner {
			n++
			isOwner = isOwner || rec.ID == id
		}
	}
	return n, isOwner, nil
}

// RevokeAll deletes every key of pod, for pod deletion.
func (k *Keys) RevokeAll(ctx context.Context, pod string) error {
	if !podurl.ValidName(pod) {
		return fmt.Errorf("%w %q", ErrInvalidPod, pod)
	}
	err := k.st.Update(ctx, func(tx store.Txn) error {
		var idx, recs [][]byte
		err := tx.Scan(indexPrefix(pod), nil, false, func(key, value []byte) error {
			idx = append(idx, slices.Clone(key))
			recs = append(recs, append([]byte(store.PrefixKey), value...))
			return nil
		})
		if err != nil {
			return err
		}
		for i := range idx {
			if err := tx.Delete(recs[i]); err != nil {
				return err
			}
			if err := tx.Delete(idx[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("acl: revoke keys of %s: %w", pod, err)
	}
	return nil
}

// Exists reports whether pod has a key with id (one store read: what
// outlives a request made with a key, such as a notification channel,
// ends when the key is revoked).
func (k *Keys) Exists(ctx context.Context, pod, id string) (bool, error) {
	if !podurl.ValidName(pod) || id == "" {
		return false, nil
	}
	var ok bool
	err := k.st.View(ctx, func(r store.Reader) error {
		_, err := r.Get(indexKey(pod, id))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		ok = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("acl: look up key: %w", err)
	}
	return ok, nil
}

// List returns the keys of pod, oldest first.
func (k *Keys) List(ctx context.Context, pod string) ([]Key, error) {
	if !podurl.ValidName(pod) {
		return nil, fmt.Errorf("%w %q", ErrInvalidPod, pod)
	}
	var keys []Key
	err := k.st.View(ctx, func(r store.Reader) error {
		var hashes [][]byte
		err := r.Scan(indexPrefix(pod), nil, false, func(_, value []byte) error {
			hashes = append(hashes, slices.Clone(value))
			return nil
		})
		if err != nil {
			return err
		}
		for _, h := range hashes {
			if len(h) != sha256.Size {
				return fmt.Errorf("key index of %s holds a malformed hash", pod)
			}
			rec, err := getRecord(r, [sha256.Size]byte(h))
			if err != nil {
				return fmt.Errorf("key index of %s: %w", pod, err)
			}
			keys = append(keys, rec.Key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("acl: list keys: %w", err)
	}
	slices.SortFunc(keys, func(a, b Key) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return keys, nil
}

func recordKey(hash [sha256.Size]byte) []byte {
	return append([]byte(store.PrefixKey), hash[:]...)
}

func indexPrefix(pod string) []byte {
	b := make([]byte, 0, len(store.PrefixPodKey)+len(pod)+1)
	b = append(b, store.PrefixPodKey...)
	b = append(b, pod...)
	return append(b, 0)
}

func indexKey(pod, id string) []byte {
	return append(indexPrefix(pod), id...)
}

func getRecord(r store.Reader, hash [sha256.Size]byte) (keyRecord, error) {
	data, err := r.Get(recordKey(hash))
	if err != nil {
		return keyRecord{}, err
	}
	var rec keyRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return keyRecord{}, fmt.Errorf("decode key record: %w", err)
	}
	return rec, nil
}

func putRecord(tx store.Txn, hash [sha256.Size]byte, rec keyRecord) error {
	rec.Hash = hex.EncodeToString(hash[:])
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return tx.Set(recordKey(hash), data)
}

// newKeyID returns a short random public key id (16 hex digits).
func newKeyID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func validateKeyNames(pod, app string, owner bool) error {
	if !podurl.ValidName(pod) {
		return fmt.Errorf("%w %q", ErrInvalidPod, pod)
	}
	if !validAppName(app) {
		return fmt.Errorf("%w %q: use 1 to 63 of a-z 0-9 . _ - starting with a letter or digit", ErrInvalidApp, app)
	}
	if app == ownerApp && !owner {
		return fmt.Errorf("%w %q: reserved for owner keys", ErrInvalidApp, app)
	}
	return nil
}

// validAppName reports whether s matches [a-z0-9][a-z0-9._-]{0,62}.
func validAppName(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '.' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// printable reports whether s holds only visible ASCII (no spaces).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
