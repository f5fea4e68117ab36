package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"podserver/inbox"
	"podserver/store"
	"podserver/store/pgstore"
	"podserver/store/storecopy"
)

// backupSuffix ends the name of every backup file: it is what tells a
// backup file from a Badger directory on the copy command line.
const backupSuffix = ".podbackup"

const copyHelp = `Usage: podserver copy --from SRC --to DST [--force] [--convert=false]

Copy a whole store, from one consistent snapshot of SRC, into DST. SRC and
DST are each one of:

  postgres://... (or postgresql://...)  a PostgreSQL store
  PATH ending in ` + backupSuffix + `             a backup file (written to a temporary
                                        file, synced, then renamed; read only
                                        after all of it is verified)
  any other PATH                        a Badger data directory

A Badger directory can be copied only while no server holds it; a PostgreSQL
store is copied online. DST must be empty (a missing directory or file is),
unless --force, which replaces what it holds.

Into a store (not a backup file), inbox items written before shared bodies
(each copy of an event holding the event's body) are converted to reference
one stored body per event, each reading as before, byte for byte and with
its ETag; --convert=false copies them as they are.`

// endpoint is one side of a copy.
type endpoint struct {
	kind string // "postgres", "file" or "badger"
	arg  string // as given
}

// parseEndpoint tells what arg names (see copyHelp).
func parseEndpoint(flagName, arg string) (endpoint, error) {
	switch {
	case arg == "":
		return endpoint{}, usageError{fmt.Sprintf("copy: %s is required", flagName)}
	case strings.HasPrefix(arg, "postgres://") || strings.HasPrefix(arg, "postgresql://"):
		return endpoint{"postgres", arg}, nil
	case strings.HasSuffix(arg, backupSuffix):
		if fi, err := os.Stat(arg); err == nil && fi.IsDir() {
			return endpoint{}, usageError{fmt.Sprintf("copy: %s %s is a directory; a backup file's name ends in %s and a Badger directory's must not", flagName, arg, backupSuffix)}
		}
		return endpoint{"file", arg}, nil
	}
	if fi, err := os.Stat(arg); err == nil && !fi.IsDir() {
		return endpoint{}, usageError{fmt.Sprintf("copy: %s %s is a file, not a Badger directory; backup files are named *%s", flagName, arg, backupSuffix)}
	}
	return endpoint{"badger", arg}, nil
}

// String names the endpoint for messages, without a password.
func (e endpoint) String() string {
	if e.kind == "postgres" {
		if u, err := url.Parse(e.arg); err == nil {
			return u.Redacted()
		}
		return "a PostgreSQL URL"
	}
	return e.arg
}

// same reports whether e and o name the same store or file.
func (e endpoint) same(o endpoint) bool {
	if e.kind != o.kind {
		return false
	}
	if e.kind == "postgres" {
		return e.arg == o.arg
	}
	a, errA := filepath.Abs(e.arg)
	b, errB := filepath.Abs(o.arg)
	return errA == nil && errB == nil && a == b
}

// open opens the store e names; role is "source" or "destination".
func (e endpoint) open(ctx context.Context, role string) (store.Store, error) {
	if e.kind == "postgres" {
		return pgstore.Open(ctx, pgstore.Options{URL: e.arg})
	}
	if role == "source" {
		// Opening creates a store; a source must exist already.
		entries, err := os.ReadDir(e.arg)
		if err != nil {
			return nil, fmt.Errorf("source: %w", err)
		}
		if len(entries) == 0 {
			return nil, fmt.Errorf("source: %s is empty: no store to copy", e.arg)
		}
	}
	s, err := store.Open(store.Options{Dir: e.arg})
	if errors.Is(err, store.ErrLocked) {
		hint := "stop it first"
		if role == "source" {
			hint = "stop it first, or copy from its PostgreSQL store or a backup file, which can be copied while serving"
		}
		return nil, fmt.Errorf("the %s data directory %s is in use by a running server: %s (%w)", role, e.arg, hint, err)
	}
	return s, err
}

func cmdCopy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("copy", copyHelp, stderr)
	from := fs.String("from", "", "the source: a Badger directory, a postgres:// URL or a *"+backupSuffix+" file")
	to := fs.String("to", "", "the destination: a Badger directory, a postgres:// URL or a *"+backupSuffix+" file")
	force := fs.Bool("force", false, "replace what the destination holds instead of refusing a non-empty one")
	conv := fs.Bool("convert", true, "convert inbox items of the layout before shared bodies (into a store only)")
	if err := parse(fs, args); err != nil {
		return err
	}
	src, err := parseEndpoint("--from", *from)
	if err != nil {
		return err
	}
	dst, err := parseEndpoint("--to", *to)
	if err != nil {
		return err
	}
	switch {
	case src.same(dst):
		return usageError{"copy: --from and --to name the same store"}
	case src.kind == "file" && dst.kind == "file":
		return usageError{"copy: both sides are backup files; copy the file itself (it checks itself when restored)"}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	opts := storecopy.Options{Overwrite: *force}
	if *conv {
		opts.Convert = inbox.ShareStoredCopies
	}
	st, err := runCopy(ctx, src, dst, opts)
	if err != nil {
		if errors.Is(err, storecopy.ErrNotEmpty) {
			return fmt.Errorf("%w; --force replaces its contents", err)
		}
		return err
	}
	secs := time.Since(start).Seconds()
	if st.Cleared > 0 {
		fmt.Fprintf(stdout, "deleted the %d keys %s held\n", st.Cleared, dst)
	}
	fmt.Fprintf(stdout, "copied %d keys, %d bytes, sequence %d, from %s to %s in %.2fs (%.0f keys/s, %.1f MB/s)\n",
		st.Keys, st.Bytes, st.Seq, src, dst, secs, float64(st.Keys)/secs, float64(st.Bytes)/1e6/secs)
	if st.Converted > 0 {
		fmt.Fprintf(stdout, "converted %d inbox items to shared bodies: %d bytes of keys and values, %d before\n",
			st.Converted, st.ConvertedBytes, st.Bytes)
	}
	return nil
}

// runCopy opens the stores and runs the copy, backup or restore.
func runCopy(ctx context.Context, src, dst endpoint, opts storecopy.Options) (st storecopy.Stats, err error) {
	var from, to store.Store
	defer func() {
		for _, s := range []store.Store{from, to} {
			if s == nil {
				continue
			}
			if cerr := s.Close(); err == nil && cerr != nil {
				err = cerr
			}
		}
	}()
	if src.kind != "file" {
		if from, err = src.open(ctx, "source"); err != nil {
			return st, err
		}
	}
	if dst.kind != "file" {
		if to, err = dst.open(ctx, "destination"); err != nil {
			return st, err
		}
	}
	switch {
	case src.kind == "file":
		return storecopy.Restore(ctx, to, src.arg, opts)
	case dst.kind == "file":
		return storecopy.Backup(ctx, dst.arg, from, opts)
	}
	return storecopy.Copy(ctx, to, from, opts)
}
