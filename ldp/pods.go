package ldp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"podserver/podurl"
	"podserver/store"
)

// PodInfo is the record of a pod.
type PodInfo struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

func podKey(name string) []byte { return append([]byte(store.PrefixPod), name...) }

// CreatePod records pod name and creates its root container. It fails with
// ErrConflict when the pod exists.
func CreatePod(tx store.Txn, name string, now time.Time) error {
	if !podurl.ValidName(name) {
		return fmt.Errorf("invalid pod name %q", name)
	}
	if _, err := tx.Get(podKey(name)); err == nil {
		return conflict("pod %q already exists", name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	b, err := json.Marshal(PodInfo{Name: name, Created: now})
	if err != nil {
		return err
	}
	if err := tx.Set(podKey(name), b); err != nil {
		return err
	}
	return CreateRoot(tx, StoragePath(name, ""), now)
}

// PodExists reports whether pod name exists.
func PodExists(rd store.Reader, name string) (bool, error) {
	_, err := rd.Get(podKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ListPods returns every pod, in name order.
func ListPods(ctx context.Context, st store.Store) ([]PodInfo, error) {
	var out []PodInfo
	err := st.View(ctx, func(rd store.Reader) error {
		return rd.Scan([]byte(store.PrefixPod), nil, false, func(_, v []byte) error {
			var p PodInfo
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("corrupt pod record: %w", err)
			}
			out = append(out, p)
			return nil
		})
	})
	return out, err
}
