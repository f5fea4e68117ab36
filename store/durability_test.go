package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// crashDirEnv, when set, makes TestCrashDurability act as the child process
// that writes into that directory until it is killed.
const crashDirEnv = "PODSERVER_STORE_CRASH_DIR"

// crashOptions are used by the child and by the parent that checks its
// work. The small memtable makes Badger rotate memtables and flush them to
// tables while the child writes.
func crashOptions(dir string) Options {
	return Options{Dir: dir, MemTableSize: 1 << 20}
}

// crashValue is the value the child writes under key with sequence seq. One
// value in 16 is above the value threshold, so it goes to the value log.
func crashValue(key string, seq uint64) []byte {
	size := 200
	if seq%16 == 0 {
		size = valueThreshold + 1000
	}
	v := fmt.Appendf(nil, "%s@%d:", key, seq)
	return append(v, bytes.Repeat([]byte{byte(seq)}, size-len(v))...)
}

// TestCrashDurability kills a process that is writing from many goroutines
// (SIGKILL, so no shutdown code runs) and checks that every write it
// acknowledged survived, twice in a row. A process kill keeps the page
// cache, so this verifies that Update returns only after Badger has the
// commit in its WAL and that recovery replays it; it cannot test the fsync
// itself, which only a power cut would.
func TestCrashDurability(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process; skipped with -short")
	}
	dir := t.TempDir()
	acked := map[string]uint64{} // key -> seq, over both runs
	var maxSeq uint64
	for run := range 2 {
		n := runCrashChild(t, dir, 700*time.Millisecond, func(key string, seq uint64) {
			acked[key] = seq
			if seq <= maxSeq {
				t.Errorf("run %d: key %s got seq %d, not above the %d acknowledged before", run, key, seq, maxSeq)
			}
		})
		for _, seq := range acked {
			maxSeq = max(maxSeq, seq)
		}
		if n == 0 {
			t.Fatalf("run %d: the child acknowledged no writes", run)
		}
		t.Logf("run %d: %d writes acknowledged before SIGKILL", run, n)

		s, err := Open(crashOptions(dir))
		must(t, err)
		var missing, wrong int
		err = s.View(context.Background(), func(r Reader) error {
			for key, seq := range acked {
				v, err := r.Get([]byte(key))
				switch {
				case err != nil:
					missing++
				case !bytes.Equal(v, crashValue(key, seq)):
					wrong++
				}
			}
			return nil
		})
		must(t, err)
		if missing > 0 || wrong > 0 {
			t.Errorf("run %d: of %d acknowledged writes, %d are missing and %d have a wrong value", run, len(acked), missing, wrong)
		}
		must(t, s.Update(context.Background(), func(tx Txn) error {
			if seq := tx.NextSeq(); seq <= maxSeq {
				t.Errorf("run %d: NextSeq after recovery = %d; want > %d", run, seq, maxSeq)
			}
			return nil
		}))
		must(t, s.Close())
	}
}

// runCrashChild runs the child on dir, kills it d after its first
// acknowledgement and calls ack for each acknowledged write, in order. It
// returns the number of acknowledgements.
func runCrashChild(t *testing.T, dir string, d time.Duration, ack func(key string, seq uint64)) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDurability$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())

	first := make(chan struct{})
	var once sync.Once
	n := 0
	read := make(chan struct{})
	go func() {
		defer close(read)
		br := bufio.NewReader(out)
		for {
			// Only complete lines count: the kill may cut the last one.
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			var key string
			var seq uint64
			if _, err := fmt.Sscanf(line, "ack %s %d\n", &key, &seq); err != nil {
				continue // not ours, e.g. test framework output
			}
			ack(key, seq)
			n++
			once.Do(func() { close(first) })
		}
	}()
	select {
	case <-first:
		time.Sleep(d)
	case <-read:
	case <-time.After(30 * time.Second):
		t.Error("no acknowledgement from the child within 30s")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Errorf("kill child: %v", err)
	}
	<-read
	err = cmd.Wait()
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("child exited with %v; want killed", err)
	}
	return n
}

// crashChild writes from 32 goroutines until the process is killed, and
// prints "ack <key> <seq>" once each Update has returned.
func crashChild(t *testing.T, dir string) {
	s, err := Open(crashOptions(dir))
	if err != nil {
		t.Fatalf("child: Open: %v", err)
	}
	ctx := context.Background()
	tag := time.Now().UnixNano() // distinct keys in each run
	var mu sync.Mutex
	for g := range 32 {
		go func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("c/%d/%d/%d", tag, g, i)
				var seq uint64
				err := s.Update(ctx, func(tx Txn) error {
					seq = tx.NextSeq()
					return tx.Set([]byte(key), crashValue(key, seq))
				})
				if err != nil {
					t.Errorf("child: Update: %v", err)
					return
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %s %d\n", key, seq)
				mu.Unlock()
			}
		}()
	}
	// Safety net should the parent die without killing us.
	time.Sleep(time.Minute)
	t.Error("child: not killed within a minute")
	os.Exit(1)
}

// A crash between Badger creating a memtable WAL or value log file and
// sizing it leaves an empty file, which Badger alone refuses to open; Open
// removes it and the data is intact.
func TestOpenAfterEmptyLogFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	must(t, err)
	ctx := context.Background()
	must(t, s.Update(ctx, func(tx Txn) error { return tx.Set([]byte(PrefixResource+"/k"), []byte("v")) }))
	must(t, s.Close())
	for _, name := range []string{"00099.mem", "00099.vlog"} {
		must(t, os.WriteFile(filepath.Join(dir, name), nil, 0o644))
	}
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("open with empty log files: %v", err)
	}
	defer s.Close()
	must(t, s.View(ctx, func(r Reader) error {
		v, err := r.Get([]byte(PrefixResource + "/k"))
		if err != nil || string(v) != "v" {
			t.Errorf("after reopening: %q, %v", v, err)
		}
		return nil
	}))
	must(t, s.Update(ctx, func(tx Txn) error { return tx.Set([]byte(PrefixResource+"/k2"), []byte("v2")) }))
}
