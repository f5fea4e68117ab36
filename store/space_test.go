package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"podserver/podtest/lockedbuf"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fakeDisk is a statfs whose free space the test sets.
type fakeDisk struct {
	free atomic.Uint64
	err  atomic.Pointer[error]
}

func (d *fakeDisk) statfs(string) (uint64, error) {
	if e := d.err.Load(); e != nil {
		return 0, *e
	}
	return d.free.Load(), nil
}

const testReserve = 10 << 20

// openDisk opens an on-disk store in a temporary directory whose free space
// d reports, with a reserve of testReserve bytes.
func openDisk(t *testing.T, d *fakeDisk, log *slog.Logger) *Badger {
	t.Helper()
	s, err := Open(Options{Dir: t.TempDir(), MemTableSize: 1 << 20, MinFreeBytes: testReserve, statfs: d.statfs, Logger: log})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func set(s Store, key string, val []byte) error {
	return s.Update(context.Background(), func(tx Txn) error { return tx.Set([]byte(key), val) })
}

func get(t *testing.T, s Store, key string) ([]byte, error) {
	t.Helper()
	var v []byte
	err := s.View(context.Background(), func(r Reader) error {
		var err error
		v, err = r.Get([]byte(key))
		return err
	})
	return v, err
}

// TestSpaceReserve checks which updates the reserve admits, by the free
// space the disk reports and the size of the update.
func TestSpaceReserve(t *testing.T) {
	const key = "rk"
	cost := func(n int) uint64 { return batchOverhead + entryOverhead + uint64(len(key)+n) }
	tests := []struct {
		name    string
		free    uint64
		size    int
		refused bool
	}{
		{"plenty of space", 1 << 30, 1000, false},
		{"exactly the reserve plus the update", testReserve + cost(1000), 1000, false},
		{"one byte short for the update", testReserve + cost(1000) - 1, 1000, true},
		{"at the reserve", testReserve, 10, true},
		{"below the reserve", testReserve / 2, 10, true},
		{"nothing free", 0, 1, true},
		{"a value for the value log that does not fit", testReserve + 100<<10, valueThreshold * 2, true},
		{"a value for the value log that fits", testReserve + 300<<10, valueThreshold * 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDisk{}
			d.free.Store(1 << 30)
			s := openDisk(t, d, nil)
			d.free.Store(tt.free)
			err := set(s, key, bytes.Repeat([]byte("x"), tt.size))
			if tt.refused {
				if !errors.Is(err, ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("Update = %v, want ErrNoSpace (wrapping ENOSPC)", err)
				}
				if _, err := get(t, s, key); !errors.Is(err, ErrNotFound) {
					t.Errorf("refused write is readable: Get err = %v", err)
				}
			} else if err != nil {
				t.Fatalf("Update = %v, want nil", err)
			}
			// A refused update makes the store short, whatever the
			// free space: it resumes only with a margin above the reserve.
			sp := s.Space()
			if sp.Free != tt.free || sp.Reserve != testReserve || sp.Writable != !tt.refused {
				t.Errorf("Space = %+v, want free %d, reserve %d, writable %v", sp, tt.free, testReserve, !tt.refused)
			}
			if tt.refused {
				if err := set(s, "small", []byte("1")); !errors.Is(err, ErrNoSpace) {
					t.Errorf("a small update after a refused one = %v, want ErrNoSpace", err)
				}
			}
			if want := map[bool]uint64{true: 1, false: 0}[tt.refused]; sp.Refused != want {
				t.Errorf("Space.Refused = %d, want %d", sp.Refused, want)
			}
		})
	}
}

// TestSpaceRecovers checks that writes are refused while the disk is
// short and admitted again once space is freed, on the same store, and
// that the two transitions are logged once each.
func TestSpaceRecovers(t *testing.T) {
	var logs lockedbuf.Buffer
	d := &fakeDisk{}
	d.free.Store(1 << 30)
	s := openDisk(t, d, slog.New(slog.NewTextHandler(&logs, nil)))
	must(t, set(s, "before", []byte("1")))

	d.free.Store(testReserve - 1)
	for range 3 {
		if err := set(s, "during", []byte("2")); !errors.Is(err, ErrNoSpace) {
			t.Fatalf("Update while short = %v, want ErrNoSpace", err)
		}
	}
	// Reads go on.
	if v, err := get(t, s, "before"); err != nil || string(v) != "1" {
		t.Fatalf("Get while short = %q, %v", v, err)
	}
	if sp := s.Space(); sp.Writable || sp.Refused != 3 {
		t.Errorf("Space while short = %+v, want not writable, 3 refused", sp)
	}

	// Back above the reserve, but not by the margin: still short.
	margin := uint64(max(testReserve/8, 1<<20))
	d.free.Store(testReserve + margin - 1)
	if err := set(s, "during", []byte("2")); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Update just above the reserve = %v, want ErrNoSpace", err)
	}
	d.free.Store(testReserve + margin)
	must(t, set(s, "after", []byte("3")))
	if v, err := get(t, s, "after"); err != nil || string(v) != "3" {
		t.Fatalf("Get after recovery = %q, %v", v, err)
	}
	if _, err := get(t, s, "during"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused write is readable: %v", err)
	}
	if sp := s.Space(); !sp.Writable {
		t.Errorf("Space after recovery = %+v, want writable", sp)
	}
	out := logs.String()
	if n := strings.Count(out, "disk nearly full: refusing writes"); n != 1 {
		t.Errorf("logged the shortage %d times, want once:\n%s", n, out)
	}
	if n := strings.Count(out, "disk space freed: accepting writes again"); n != 1 {
		t.Errorf("logged the recovery %d times, want once:\n%s", n, out)
	}
}

// TestSpaceBatchBudget checks that the writes of one batch are charged
// together: the second update that would take the batch into the reserve
// is refused although either alone fits.
func TestSpaceBatchBudget(t *testing.T) {
	d := &fakeDisk{}
	g := newSpaceGuard("dir", testReserve, 0, d.statfs, slog.New(slog.DiscardHandler))
	one := newWriteSet()
	one.put("k", write{val: bytes.Repeat([]byte("v"), 4000)})
	d.free.Store(testReserve + one.diskCost() + one.diskCost()/2)

	b := g.budget()
	if b.exhausted() {
		t.Fatal("budget exhausted before any write")
	}
	if err := b.charge(one); err != nil {
		t.Fatalf("first charge: %v", err)
	}
	if err := b.charge(one); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("second charge = %v, want ErrNoSpace", err)
	}
	// The refusal makes the guard short: even a small write that would
	// fit is refused now, in this batch and the next.
	small := newWriteSet()
	small.put("s", write{val: []byte("v")})
	if err := b.charge(small); !errors.Is(err, ErrNoSpace) {
		t.Errorf("a small write after a refused one = %v, want ErrNoSpace", err)
	}
	if !g.budget().exhausted() {
		t.Error("the next batch may write although the guard is short")
	}
	if got := g.refused.Load(); got != 2 {
		t.Errorf("refused = %d, want 2", got)
	}
	// A new batch starts from the free space measured again.
	d.free.Store(1 << 30)
	if err := g.budget().charge(one); err != nil {
		t.Errorf("next batch: %v", err)
	}
	// No guard (in memory): no limit.
	var none *spaceGuard
	if nb := none.budget(); nb.exhausted() || nb.charge(one) != nil {
		t.Error("a nil guard limits writes")
	}
}

// TestSpaceStatfsFails checks that a failing statfs does not stop writes.
func TestSpaceStatfsFails(t *testing.T) {
	d := &fakeDisk{}
	d.free.Store(1 << 30)
	s := openDisk(t, d, nil)
	e := errors.New("statfs: input/output error")
	d.err.Store(&e)
	must(t, set(s, "k", []byte("v")))
	if sp := s.Space(); !sp.Writable || !errors.Is(sp.Err, e) {
		t.Errorf("Space = %+v, want writable with the statfs error", sp)
	}
}

// TestSpaceOpenRefused checks that Open refuses a nearly full disk instead
// of letting Badger fault while it creates its files.
func TestSpaceOpenRefused(t *testing.T) {
	d := &fakeDisk{}
	d.free.Store(minOpenFree - 1)
	_, err := Open(Options{Dir: t.TempDir(), statfs: d.statfs})
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Open = %v, want ErrNoSpace", err)
	}
}

// TestDefaultReserve pins the reserve derived from the memtable size.
func TestDefaultReserve(t *testing.T) {
	tests := []struct {
		opts Options
		want uint64
	}{
		{Options{}, 292 << 20},
		{Options{MemTableSize: 2 << 20}, 22 << 20},
		{Options{MemTableSize: 2 << 20, MinFreeBytes: 5 << 20}, 5 << 20},
	}
	for _, tt := range tests {
		if got := reserve(tt.opts); got != tt.want {
			t.Errorf("reserve(%+v) = %d, want %d", tt.opts, got, tt.want)
		}
	}
}

// TestSpaceInMemory checks that a store in memory reports no disk limit.
func TestSpaceInMemory(t *testing.T) {
	s := openMem(t, Options{})
	if sp := s.Space(); !sp.Writable || sp.Reserve != 0 {
		t.Errorf("Space = %+v, want writable without a reserve", sp)
	}
}

// TestCloseOnFullDisk checks that Close does not flush (which would fault)
// when the free space does not cover it, and that every acknowledged
// write is still in the files it leaves, as after a crash.
func TestCloseOnFullDisk(t *testing.T) {
	d := &fakeDisk{}
	d.free.Store(1 << 30)
	var logs lockedbuf.Buffer
	s := openDisk(t, d, slog.New(slog.NewTextHandler(&logs, nil)))
	for i := range 100 {
		must(t, set(s, fmt.Sprintf("k%03d", i), bytes.Repeat([]byte{byte(i)}, 100+i*1000)))
	}
	d.free.Store(flushNeed(1<<20) - 1)
	if err := s.Close(); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Close on a full disk = %v, want ErrNoSpace", err)
	}
	if !strings.Contains(logs.String(), "not closing the database") {
		t.Errorf("Close did not log why:\n%s", logs.String())
	}
	// The directory is still locked by the open database: open a copy,
	// as the next process would open the directory.
	cp := copyQuiet(t, s.space.dir)
	s2, err := Open(Options{Dir: cp, MemTableSize: 1 << 20})
	if err != nil {
		t.Fatalf("open the copy: %v", err)
	}
	defer s2.Close()
	for i := range 100 {
		v, err := get(t, s2, fmt.Sprintf("k%03d", i))
		if err != nil || !bytes.Equal(v, bytes.Repeat([]byte{byte(i)}, 100+i*1000)) {
			t.Fatalf("k%03d after reopening: %d bytes, %v", i, len(v), err)
		}
	}
}

// copyQuiet copies the directory of a database that is still open into a
// new directory, as a snapshot: Badger may still be flushing a memtable it
// filled before (writing a table, deleting the .mem file), so the copy is
// made again until the directory read the same before and after it.
func copyQuiet(t *testing.T, dir string) string {
	t.Helper()
	state := func() string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, e := range entries {
			if fi, err := e.Info(); err == nil {
				fmt.Fprintf(&b, "%s %d %d\n", e.Name(), fi.Size(), fi.ModTime().UnixNano())
			}
		}
		return b.String()
	}
	for try := 0; try < 100; try++ {
		before := state()
		cp := t.TempDir()
		complete := true
		for _, line := range strings.Split(strings.TrimSpace(before), "\n") {
			name, _, _ := strings.Cut(line, " ")
			if !copySparse(t, filepath.Join(dir, name), filepath.Join(cp, name)) {
				complete = false
			}
		}
		if complete && state() == before {
			return cp
		}
		time.Sleep(20 * time.Millisecond) // let the flush finish
	}
	t.Fatal("the database directory kept changing")
	return ""
}

// copySparse copies the file src to dst, leaving holes where src reads as
// zeros (Badger's value log is a 512 MiB sparse file).
func copySparse(t *testing.T, src, dst string) bool {
	t.Helper()
	in, err := os.Open(src)
	if errors.Is(err, os.ErrNotExist) {
		return false // removed since the directory was read
	}
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	buf := make([]byte, 64<<10)
	zero := make([]byte, len(buf))
	var off int64
	for {
		n, err := io.ReadFull(in, buf)
		if n > 0 && !bytes.Equal(buf[:n], zero[:n]) {
			if _, werr := out.WriteAt(buf[:n], off); werr != nil {
				t.Fatal(werr)
			}
		}
		off += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := out.Truncate(off); err != nil {
		t.Fatal(err)
	}
	return true
}
