package storecopy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"podserver/store"
	"podserver/store/pgstore"
	"podserver/store/pgstore/pgtest"
	"podserver/store/storecopy"
)

var cluster = pgtest.New()

func TestMain(m *testing.M) {
	code := m.Run()
	cluster.Stop()
	os.Exit(code)
}

// openBadger opens a Badger store in dir, closed at the end of t.
func openBadger(t testing.TB, dir string) *store.Badger {
	t.Helper()
	s, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// pair is one key and its value.
type pair struct{ k, v string }

// dump returns every key of s in order, the store-internal ones included
// (so a test sees any that a copy wrote by mistake; Badger's sequence key
// is filtered out by the caller where it is expected).
func dump(t testing.TB, s store.Store) []pair {
	t.Helper()
	var out []pair
	err := s.View(context.Background(), func(r store.Reader) error {
		return r.Scan(nil, nil, false, func(k, v []byte) error {
			out = append(out, pair{string(k), string(v)})
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// data returns dump without store-internal keys.
func data(t testing.TB, s store.Store) []pair {
	return slices.DeleteFunc(dump(t, s), func(p pair) bool { return strings.HasPrefix(p.k, store.PrefixMeta) })
}

// fill writes n keys spread over several prefixes, with empty, small and
// large values (above Badger's value-log threshold), taking one sequence
// number per Update; it returns the last number taken.
func fill(t testing.TB, s store.Store, n int) uint64 {
	t.Helper()
	ctx := context.Background()
	var seq uint64
	prefixes := []string{store.PrefixResource, store.PrefixMember, store.PrefixKey, "\x00", "\xfe"}
	for i := 0; i < n; {
		err := s.Update(ctx, func(tx store.Txn) error {
			seq = tx.NextSeq()
			for j := 0; j < 100 && i < n; j, i = j+1, i+1 {
				k := store.AppendUint64([]byte(prefixes[i%len(prefixes)]), uint64(i))
				var v []byte
				switch i % 50 {
				case 0: // empty
				case 7:
					v = bytes.Repeat([]byte{byte(i)}, 100<<10)
				default:
					v = fmt.Appendf(nil, "value %d of seq %d", i, seq)
				}
				if err := tx.Set(k, v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return seq
}

func lastSeq(t testing.TB, s store.Store) uint64 {
	t.Helper()
	n, err := s.(storecopy.Sequenced).LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func nextSeq(t testing.TB, s store.Store) uint64 {
	t.Helper()
	var n uint64
	if err := s.Update(context.Background(), func(tx store.Txn) error { n = tx.NextSeq(); return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkCopy checks that dst holds exactly src's data and that its
// sequence continues above src's.
func checkCopy(t *testing.T, dst, src store.Store, st storecopy.Stats) {
	t.Helper()
	want, got := data(t, src), data(t, dst)
	if !slices.Equal(got, want) {
		t.Errorf("destination holds %d pairs, source %d; contents differ", len(got), len(want))
	}
	var bytes int64
	for _, p := range want {
		bytes += int64(len(p.k) + len(p.v))
	}
	if st.Keys != int64(len(want)) || st.Bytes != bytes {
		t.Errorf("Stats = %+v; want %d keys, %d bytes", st, len(want), bytes)
	}
	srcSeq := lastSeq(t, src)
	if st.Seq != srcSeq {
		t.Errorf("Stats.Seq = %d; want the source's LastSeq %d", st.Seq, srcSeq)
	}
	if n := nextSeq(t, dst); n <= srcSeq {
		t.Errorf("NextSeq on the copy = %d; want above the source's %d", n, srcSeq)
	}
}

// TestCopyBadger copies a store across many batches, in Update sizes
// bounded by keys and by bytes.
func TestCopyBadger(t *testing.T) {
	src := openBadger(t, t.TempDir())
	seq := fill(t, src, 2500)
	if seq == 0 {
		t.Fatal("fill took no sequence numbers")
	}
	for name, opts := range map[string]storecopy.Options{"default": {}, "7keys": {BatchKeys: 7}, "150KiB": {BatchBytes: 150 << 10}} {
		t.Run(name, func(t *testing.T) {
			dst := openBadger(t, t.TempDir())
			st, err := storecopy.Copy(context.Background(), dst, src, opts)
			if err != nil {
				t.Fatal(err)
			}
			checkCopy(t, dst, src, st)
		})
	}
}

// TestCopySplitsTooBigBatches: with a small memtable a 4 MiB batch does
// not fit one Badger transaction; the copy splits it and succeeds.
func TestCopySplitsTooBigBatches(t *testing.T) {
	src := openBadger(t, t.TempDir())
	fill(t, src, 1500)
	dst, err := store.Open(store.Options{Dir: t.TempDir(), MemTableSize: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	// Check the premise: one batch of the default size is too big here.
	err = dst.Update(context.Background(), func(tx store.Txn) error {
		for i := range 1000 {
			if err := tx.Set(store.AppendUint64([]byte("x"), uint64(i)), make([]byte, 4000)); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, store.ErrTxnTooBig) {
		t.Fatalf("a 4 MB Update on a 2 MiB memtable: %v; want ErrTxnTooBig", err)
	}
	st, err := storecopy.Copy(context.Background(), dst, src, storecopy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkCopy(t, dst, src, st)
}

// TestCopyRefusesNonEmpty: a destination with data is refused and left
// as it was; with Overwrite it ends up holding exactly the source's data,
// its own keys gone.
func TestCopyRefusesNonEmpty(t *testing.T) {
	ctx := context.Background()
	src := openBadger(t, t.TempDir())
	fill(t, src, 300)
	dst := openBadger(t, t.TempDir())
	err := dst.Update(ctx, func(tx store.Txn) error {
		tx.NextSeq()
		return tx.Set([]byte("zzz-only-in-dst"), []byte("x"))
	})
	if err != nil {
		t.Fatal(err)
	}
	before := dump(t, dst)
	_, err = storecopy.Copy(ctx, dst, src, storecopy.Options{})
	if !errors.Is(err, storecopy.ErrNotEmpty) || !strings.Contains(err.Error(), "zzz-only-in-dst") {
		t.Fatalf("copy into a non-empty store: %v; want ErrNotEmpty naming its first key", err)
	}
	if after := dump(t, dst); !slices.Equal(after, before) {
		t.Fatalf("the refused copy changed the destination: %d pairs, had %d", len(after), len(before))
	}
	file := filepath.Join(t.TempDir(), "b.podbackup")
	if _, err := storecopy.Backup(ctx, file, src, storecopy.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := storecopy.Restore(ctx, dst, file, storecopy.Options{}); !errors.Is(err, storecopy.ErrNotEmpty) {
		t.Fatalf("restore into a non-empty store: %v; want ErrNotEmpty", err)
	}
	if after := dump(t, dst); !slices.Equal(after, before) {
		t.Fatal("the refused restore changed the destination")
	}

	st, err := storecopy.Copy(ctx, dst, src, storecopy.Options{Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Cleared != 1 {
		t.Errorf("Stats.Cleared = %d; want 1", st.Cleared)
	}
	checkCopy(t, dst, src, st)

	// Restore with Overwrite too, over a copy changed since.
	if err := dst.Update(ctx, func(tx store.Txn) error { return tx.Set([]byte("\x01extra"), nil) }); err != nil {
		t.Fatal(err)
	}
	st, err = storecopy.Restore(ctx, dst, file, storecopy.Options{Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Cleared != 301 {
		t.Errorf("restore: Stats.Cleared = %d; want 301", st.Cleared)
	}
	checkCopy(t, dst, src, st)
}

// hidden is a store without the Sequenced methods.
type hidden struct{ store.Store }

// TestCopyNeedsSequenced: a store that cannot carry the sequence over is
// refused before anything is written.
func TestCopyNeedsSequenced(t *testing.T) {
	ctx := context.Background()
	src := openBadger(t, t.TempDir())
	fill(t, src, 10)
	dst := openBadger(t, t.TempDir())
	for _, tc := range []struct {
		name     string
		dst, src store.Store
	}{{"source", dst, hidden{src}}, {"destination", hidden{dst}, src}} {
		_, err := storecopy.Copy(ctx, tc.dst, tc.src, storecopy.Options{})
		if err == nil || !strings.Contains(err.Error(), tc.name) || !strings.Contains(err.Error(), "LastSeq") {
			t.Errorf("%s without LastSeq: %v; want an error naming it", tc.name, err)
		}
	}
	if _, err := storecopy.Restore(ctx, hidden{dst}, "unused", storecopy.Options{}); err == nil {
		t.Error("restore into a store without EnsureSeqAbove succeeded")
	}
	if d := dump(t, dst); len(d) != 0 {
		t.Errorf("the refused copies wrote %d keys", len(d))
	}
}

// TestBackupRestore: Badger -> file -> Badger; the file is verified, the
// copy equal; no temporary file is left, and an existing file is not
// replaced without Overwrite.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	src := openBadger(t, t.TempDir())
	fill(t, src, 1200)
	dir := t.TempDir()
	file := filepath.Join(dir, "b.podbackup")
	st, err := storecopy.Backup(ctx, file, src, storecopy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the backup directory holds %d entries; want the backup alone", len(entries))
	}
	vst, err := storecopy.Verify(ctx, file)
	if err != nil || vst != st {
		t.Fatalf("Verify = %+v, %v; want %+v", vst, err, st)
	}
	if _, err := storecopy.Backup(ctx, file, src, storecopy.Options{}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("backup over an existing file: %v; want refused", err)
	}
	if _, err := storecopy.Backup(ctx, file, src, storecopy.Options{Overwrite: true}); err != nil {
		t.Errorf("backup over an existing file with Overwrite: %v", err)
	}
	dst := openBadger(t, t.TempDir())
	rst, err := storecopy.Restore(ctx, dst, file, storecopy.Options{BatchKeys: 100})
	if err != nil {
		t.Fatal(err)
	}
	checkCopy(t, dst, src, rst)
}

// TestBackupEmpty: an empty store makes a valid file that restores to an
// empty store.
func TestBackupEmpty(t *testing.T) {
	ctx := context.Background()
	src := openBadger(t, t.TempDir())
	file := filepath.Join(t.TempDir(), "e.podbackup")
	if _, err := storecopy.Backup(ctx, file, src, storecopy.Options{}); err != nil {
		t.Fatal(err)
	}
	dst := openBadger(t, t.TempDir())
	st, err := storecopy.Restore(ctx, dst, file, storecopy.Options{})
	if err != nil || st != (storecopy.Stats{}) {
		t.Fatalf("restore of an empty backup = %+v, %v", st, err)
	}
	if d := data(t, dst); len(d) != 0 {
		t.Fatalf("restored %d keys from an empty backup", len(d))
	}
}

// TestRestoreCorrupt: every truncation and every one-byte change of a
// backup file is refused, with an error saying what is wrong, and the
// destination stays empty.
func TestRestoreCorrupt(t *testing.T) {
	ctx := context.Background()
	src := openBadger(t, t.TempDir())
	err := src.Update(ctx, func(tx store.Txn) error {
		tx.NextSeq()
		for _, k := range []string{"a", "b", "c"} {
			if err := tx.Set([]byte(k), []byte("value of "+k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.podbackup")
	if _, err := storecopy.Backup(ctx, good, src, storecopy.Options{}); err != nil {
		t.Fatal(err)
	}
	valid, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	dst := openBadger(t, t.TempDir())
	bad := filepath.Join(dir, "bad.podbackup")
	restore := func(b []byte) error {
		t.Helper()
		if err := os.WriteFile(bad, b, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := storecopy.Restore(ctx, dst, bad, storecopy.Options{})
		return err
	}
	for n := range len(valid) {
		if err := restore(valid[:n]); !errors.Is(err, storecopy.ErrCorrupt) {
			t.Errorf("file cut to %d of %d bytes: %v; want ErrCorrupt", n, len(valid), err)
		}
	}
	for i := range valid {
		b := bytes.Clone(valid)
		b[i] ^= 0x20
		if err := restore(b); !errors.Is(err, storecopy.ErrCorrupt) {
			t.Errorf("byte %d changed: %v; want ErrCorrupt", i, err)
		}
	}
	if err := restore(append(bytes.Clone(valid), 0)); !errors.Is(err, storecopy.ErrCorrupt) {
		t.Errorf("a byte appended: %v; want ErrCorrupt", err)
	}
	if d := dump(t, dst); len(d) != 0 {
		t.Fatalf("refused restores wrote %d keys", len(d))
	}
	if n := lastSeq(t, dst); n != 0 {
		t.Fatalf("refused restores raised the sequence to %d", n)
	}
	// The messages say what is wrong.
	for _, tc := range []struct {
		b    []byte
		want string
	}{
		{valid[:len(valid)-10], "truncated"},
		{append([]byte("podserver-backup 2\n"), valid[19:]...), "format version 2"},
		{[]byte("{\"not\": \"a backup\"}\n"), "not a podserver backup file"},
		{flip(valid, len(valid)-40), "checksum mismatch"},
	} {
		if err := restore(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("restore: %v; want an error saying %q", err, tc.want)
		}
	}
	if err := restore(valid); err != nil {
		t.Fatalf("the unchanged file: %v", err)
	}
}

func flip(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 1
	return b
}

// TestCopyPostgres: Badger -> PostgreSQL -> Badger, and Badger -> file ->
// PostgreSQL, with identical contents and the sequence carried over.
func TestCopyPostgres(t *testing.T) {
	ctx := context.Background()
	src := openBadger(t, t.TempDir())
	fill(t, src, 1500)
	pg, err := pgstore.Open(ctx, pgstore.Options{URL: cluster.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	st, err := storecopy.Copy(ctx, pg, src, storecopy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkCopy(t, pg, src, st)
	if d := dump(t, pg); len(d) != len(data(t, src)) {
		t.Errorf("PostgreSQL holds %d keys; want the %d data keys, no internal ones", len(d), len(data(t, src)))
	}
	back := openBadger(t, t.TempDir())
	st, err = storecopy.Copy(ctx, back, pg, storecopy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkCopy(t, back, pg, st)
	if !slices.Equal(data(t, back), data(t, src)) {
		t.Error("Badger -> PostgreSQL -> Badger changed the data")
	}

	file := filepath.Join(t.TempDir(), "b.podbackup")
	if _, err := storecopy.Backup(ctx, file, src, storecopy.Options{}); err != nil {
		t.Fatal(err)
	}
	pg2, err := pgstore.Open(ctx, pgstore.Options{URL: cluster.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer pg2.Close()
	st, err = storecopy.Restore(ctx, pg2, file, storecopy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkCopy(t, pg2, src, st)
}

// Both backends carry the sequence over.
var (
	_ storecopy.Sequenced = (*store.Badger)(nil)
	_ storecopy.Sequenced = (*pgstore.Store)(nil)
)
