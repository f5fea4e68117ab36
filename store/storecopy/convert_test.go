package storecopy_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"podserver/store"
	"podserver/store/storecopy"
)

// halve is an Options.Convert for tests: it replaces each value under
// store.PrefixMember with its first half, under a key holding a sequence
// number it takes (which must be above the copied ones), and returns how
// many values it replaced and the sequence number.
func halve(seq *uint64) func(ctx context.Context, dst store.Store) (int64, error) {
	return func(ctx context.Context, dst store.Store) (int64, error) {
		var n int64
		err := dst.Update(ctx, func(tx store.Txn) error {
			n = 0
			*seq = tx.NextSeq()
			var keys, vals [][]byte
			err := tx.Scan([]byte(store.PrefixMember), nil, false, func(k, v []byte) error {
				keys = append(keys, append([]byte{}, k...))
				vals = append(vals, append([]byte{}, v[:len(v)/2]...))
				return nil
			})
			if err != nil {
				return err
			}
			for i, k := range keys {
				if err := tx.Set(k, vals[i]); err != nil {
					return err
				}
				n++
			}
			return tx.Set(store.AppendUint64([]byte(store.PrefixResource+"converted"), *seq), nil)
		})
		return n, err
	}
}

// Options.Convert runs on the destination of a copy and of a restore, after
// the data and the sequence (the numbers it takes are above the source's),
// and Stats reports what it converted and the bytes after it; a backup
// file holds the keys as they are.
func TestCopyConvert(t *testing.T) {
	ctx := context.Background()
	src := openBadger(t, t.TempDir())
	fill(t, src, 500)
	srcData := data(t, src)
	var members, saved int64
	for _, p := range srcData {
		if p.k[0] == store.PrefixMember[0] {
			members++
			saved += int64(len(p.v) - len(p.v)/2)
		}
	}
	check := func(t *testing.T, dst store.Store, st storecopy.Stats, seq uint64) {
		t.Helper()
		if st.Converted != members {
			t.Errorf("Stats.Converted = %d; want %d", st.Converted, members)
		}
		// One key added by the conversion: its own, with an empty value.
		added := int64(len(store.PrefixResource+"converted") + 8)
		if want := st.Bytes - saved + added; st.ConvertedBytes != want {
			t.Errorf("Stats.ConvertedBytes = %d; want %d (Bytes %d)", st.ConvertedBytes, want, st.Bytes)
		}
		if seq <= st.Seq {
			t.Errorf("the conversion took sequence %d, not above the source's %d", seq, st.Seq)
		}
		if n := len(data(t, dst)); n != len(srcData)+1 {
			t.Errorf("the destination holds %d keys; want %d", n, len(srcData)+1)
		}
	}
	t.Run("copy", func(t *testing.T) {
		var seq uint64
		dst := openBadger(t, t.TempDir())
		st, err := storecopy.Copy(ctx, dst, src, storecopy.Options{Convert: halve(&seq)})
		if err != nil {
			t.Fatal(err)
		}
		check(t, dst, st, seq)
	})
	t.Run("backup and restore", func(t *testing.T) {
		var seq uint64
		file := filepath.Join(t.TempDir(), "c.podbackup")
		if _, err := storecopy.Backup(ctx, file, src, storecopy.Options{Convert: halve(&seq)}); err != nil {
			t.Fatal(err)
		}
		if seq != 0 {
			t.Fatal("Backup ran Convert")
		}
		plain := openBadger(t, t.TempDir())
		if _, err := storecopy.Restore(ctx, plain, file, storecopy.Options{}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(data(t, plain), srcData) {
			t.Fatal("the backup file does not hold the source's keys as they are")
		}
		dst := openBadger(t, t.TempDir())
		st, err := storecopy.Restore(ctx, dst, file, storecopy.Options{Convert: halve(&seq)})
		if err != nil {
			t.Fatal(err)
		}
		check(t, dst, st, seq)
	})
}
