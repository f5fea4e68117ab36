package ldp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"podserver/podurl"
	"podserver/store"
)

// States of a pod (PodInfo.State).
const (
	// PodActive is a pod that serves requests.
	PodActive = "active"
	// PodDisabled is a pod the server's operator disabled: it refuses
	// every request, and keeps its data until it is enabled again.
	PodDisabled = "disabled"
	// PodDeleting is a pod being deleted: it is treated as missing while
	// its data is removed, and its record goes last.
	PodDeleting = "deleting"
)

// PodInfo is the record of a pod.
type PodInfo struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// State is PodActive, PodDisabled or PodDeleting. Records written
	// before pods had states have none: they are active.
	State string `json:"state,omitempty"`
}

func podKey(name string) []byte { return append([]byte(store.PrefixPod), name...) }

// PodName returns the pod name of a key written under store.PrefixPod
// (the change feed's), and false for any other key.
func PodName(key []byte) (string, bool) {
	if len(key) <= len(store.PrefixPod) || string(key[:len(store.PrefixPod)]) != store.PrefixPod {
		return "", false
	}
	return string(key[len(store.PrefixPod):]), true
}

// CreatePod records pod name and creates its root container. It fails with
// ErrConflict when the pod exists (in any state).
func CreatePod(tx store.Txn, name string, now time.Time) error {
	if !podurl.ValidName(name) {
		return fmt.Errorf("invalid pod name %q", name)
	}
	if _, err := tx.Get(podKey(name)); err == nil {
		return conflict("pod %q already exists", name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := putPod(tx, PodInfo{Name: name, Created: now}); err != nil {
		return err
	}
	return CreateRoot(tx, StoragePath(name, ""), now)
}

func putPod(tx store.Txn, p PodInfo) error {
	if p.State == PodActive {
		p.State = "" // the stored form of records from before states
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return tx.Set(podKey(p.Name), b)
}

func decodePod(v []byte) (PodInfo, error) {
	var p PodInfo
	if err := json.Unmarshal(v, &p); err != nil {
		return p, fmt.Errorf("corrupt pod record: %w", err)
	}
	if p.State == "" {
		p.State = PodActive
	}
	return p, nil
}

// GetPod returns pod name's record (in any state), or ErrNotFound.
func GetPod(rd store.Reader, name string) (PodInfo, error) {
	v, err := rd.Get(podKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return PodInfo{}, ErrNotFound
	}
	if err != nil {
		return PodInfo{}, err
	}
	return decodePod(v)
}

// SetPodState changes pod name's state to state and returns its record. A
// pod being deleted stays so: changing its state is ErrConflict; a missing
// pod is ErrNotFound.
func SetPodState(tx store.Txn, name, state string) (PodInfo, error) {
	switch state {
	case PodActive, PodDisabled, PodDeleting:
	default:
		return PodInfo{}, fmt.Errorf("invalid pod state %q", state)
	}
	p, err := GetPod(tx, name)
	if err != nil {
		return p, err
	}
	if p.State == PodDeleting && state != PodDeleting {
		return p, conflict("pod %q is being deleted", name)
	}
	if p.State == state {
		return p, nil
	}
	p.State = state
	return p, putPod(tx, p)
}

// DeletePodRecord removes pod name's record, the last key of a deleted
// pod: the name may then be used again.
func DeletePodRecord(tx store.Txn, name string) error {
	return tx.Delete(podKey(name))
}

// PodExists reports whether pod name exists. A pod being deleted does not
// (PodDeleting); a disabled one does.
func PodExists(rd store.Reader, name string) (bool, error) {
	v, err := rd.Get(podKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return recordExists(v)
}

// recordExists reports whether the pod whose record is v exists (v nil:
// no record).
func recordExists(v []byte) (bool, error) {
	switch {
	case v == nil:
		return false, nil
	case !bytes.Contains(v, []byte(PodDeleting)):
		return true, nil // not being deleted: no need to decode it
	}
	p, err := decodePod(v)
	return err == nil && p.State != PodDeleting, err
}

// PodsExist reports, for each of names, whether the pod exists, as
// PodExists does, reading their records at once (store.GetMany: one round
// trip on PostgreSQL).
func PodsExist(rd store.Reader, names []string) ([]bool, error) {
	keys := make([][]byte, len(names))
	for i, n := range names {
		keys[i] = podKey(n)
	}
	vs, err := store.GetMany(rd, keys)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(names))
	for i, v := range vs {
		if out[i], err = recordExists(v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ListPods returns every pod, in name order, in every state.
func ListPods(ctx context.Context, st store.Store) ([]PodInfo, error) {
	var out []PodInfo
	err := st.View(ctx, func(rd store.Reader) error {
		return rd.Scan([]byte(store.PrefixPod), nil, false, func(_, v []byte) error {
			p, err := decodePod(v)
			if err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	return out, err
}
