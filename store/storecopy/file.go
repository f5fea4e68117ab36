package storecopy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"podserver/store"
)

// The backup file format, version 1. A file holds one snapshot of a store
// and checks itself:
//
//	header  = "podserver-backup 1\n"
//	record  = 'R' uvarint(len(key)) key uvarint(len(value)) value
//	trailer = 'E' count(8) seq(8) sha256(32)
//
// Records are the store's data keys in strictly ascending order, none
// under store.PrefixMeta. count is the number of records, seq the source's
// LastSeq (read after the snapshot, which is why it is in the trailer),
// both big-endian; the SHA-256 covers every byte before it, and the file
// ends right after it. A reader accepts a file only if all of that holds.
const (
	magic         = "podserver-backup "
	formatVersion = 1
	header        = magic + "1\n"
	tagRecord     = 'R'
	tagEnd        = 'E'
	// maxKeyLen bounds a key; every store's limit is lower (Badger's is
	// 65000 bytes).
	maxKeyLen = 1 << 16
)

// ErrCorrupt is wrapped by every error about a backup file's contents: it
// is truncated, altered or not a backup file.
var ErrCorrupt = errors.New("storecopy: corrupt backup file")

// Backup writes a snapshot of src to the file path: to a temporary file
// in the same directory, synced, then renamed to path, so that path never
// holds a partial backup. An existing file is refused unless
// opts.Overwrite. src must implement Sequenced.
func Backup(ctx context.Context, path string, src store.Store, opts Options) (st Stats, err error) {
	seq, err := sequenced(src, "source")
	if err != nil {
		return st, err
	}
	if !opts.Overwrite {
		if _, err := os.Lstat(path); err == nil {
			return st, fmt.Errorf("storecopy: %s exists; choose a new name or overwrite it", path)
		} else if !errors.Is(err, os.ErrNotExist) {
			return st, fmt.Errorf("storecopy: %w", err)
		}
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return st, fmt.Errorf("storecopy: create the backup file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	enc := &encoder{w: bw, h: sha256.New()}
	enc.write([]byte(header))
	err = src.View(ctx, func(r store.Reader) error {
		return r.Scan(nil, nil, false, func(k, v []byte) error {
			if isMeta(k) {
				return store.ErrStop
			}
			enc.record(k, v)
			return enc.err
		})
	})
	st.Keys, st.Bytes = enc.count, enc.bytes
	if err != nil {
		return st, fmt.Errorf("storecopy: read the source: %w", err)
	}
	if st.Seq, err = seq.LastSeq(ctx); err != nil {
		return st, fmt.Errorf("storecopy: read the source's sequence: %w", err)
	}
	enc.trailer(st.Seq)
	if enc.err == nil {
		enc.err = bw.Flush()
	}
	if enc.err != nil {
		return st, fmt.Errorf("storecopy: write %s: %w", f.Name(), enc.err)
	}
	if err = f.Sync(); err != nil {
		return st, fmt.Errorf("storecopy: sync %s: %w", f.Name(), err)
	}
	if err = f.Close(); err != nil {
		return st, fmt.Errorf("storecopy: close %s: %w", f.Name(), err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return st, fmt.Errorf("storecopy: %w", err)
	}
	if err = syncDir(dir); err != nil {
		return st, err
	}
	return st, nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("storecopy: sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("storecopy: sync directory %s: %w", dir, err)
	}
	return nil
}

// encoder writes the format, hashing what it writes. The first error
// stops it and stays in err.
type encoder struct {
	w            io.Writer
	h            hash.Hash
	err          error
	count, bytes int64
	scratch      []byte
}

func (e *encoder) write(b []byte) {
	if e.err != nil {
		return
	}
	e.h.Write(b)
	_, e.err = e.w.Write(b)
}

func (e *encoder) record(k, v []byte) {
	e.scratch = append(e.scratch[:0], tagRecord)
	e.scratch = binary.AppendUvarint(e.scratch, uint64(len(k)))
	e.write(e.scratch)
	e.write(k)
	e.scratch = binary.AppendUvarint(e.scratch[:0], uint64(len(v)))
	e.write(e.scratch)
	e.write(v)
	e.count++
	e.bytes += int64(len(k) + len(v))
}

func (e *encoder) trailer(seq uint64) {
	b := append(e.scratch[:0], tagEnd)
	b = binary.BigEndian.AppendUint64(b, uint64(e.count))
	b = binary.BigEndian.AppendUint64(b, seq)
	e.write(b)
	if e.err == nil {
		_, e.err = e.w.Write(e.h.Sum(nil))
	}
}

// Verify reads the backup file at path through and checks all of it
// (framing, key order, record count, checksum) without writing anything.
// An error about the contents wraps ErrCorrupt and says what is wrong.
func Verify(ctx context.Context, path string) (Stats, error) {
	f, size, err := openFile(path)
	if err != nil {
		return Stats{}, err
	}
	defer f.Close()
	return decode(ctx, f, size, nil)
}

// Restore copies the backup file at path into dst and carries its
// sequence over. It verifies the whole file (as Verify) before it writes
// anything to dst, so a corrupt or truncated file leaves dst untouched;
// the file is read a second time to write it, and checked again. dst must
// implement Sequenced and, unless opts.Overwrite, be empty. opts.Convert
// runs after the data is written, as for Copy.
func Restore(ctx context.Context, dst store.Store, path string, opts Options) (Stats, error) {
	var st Stats
	dstSeq, err := sequenced(dst, "destination")
	if err != nil {
		return st, err
	}
	if !opts.Overwrite {
		if err := checkEmpty(ctx, dst); err != nil {
			return st, err
		}
	}
	f, size, err := openFile(path)
	if err != nil {
		return st, err
	}
	defer f.Close()
	want, err := decode(ctx, f, size, nil)
	if err != nil {
		return st, err
	}
	if opts.Overwrite {
		if st.Cleared, err = clearStore(ctx, dst, opts); err != nil {
			return st, err
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return st, fmt.Errorf("storecopy: %w", err)
	}
	w := newBatcher(ctx, dst, opts)
	got, err := decode(ctx, f, size, w.set)
	if err == nil {
		err = w.flush()
	}
	st.Keys, st.Bytes = w.keys, w.bytes
	if err != nil {
		return st, fmt.Errorf("storecopy: restore %s: %w", path, err)
	}
	if got != want {
		return st, fmt.Errorf("storecopy: restore %s: the file changed while it was read", path)
	}
	st.Seq = got.Seq
	if err := dstSeq.EnsureSeqAbove(ctx, st.Seq); err != nil {
		return st, fmt.Errorf("storecopy: carry the sequence over: %w", err)
	}
	return st, convert(ctx, dst, opts, &st)
}

func openFile(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("storecopy: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("storecopy: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("storecopy: %s is not a regular file", path)
	}
	return f, fi.Size(), nil
}

// decoder reads the format from r, whose size is known, hashing what it
// consumes. No length read from the file makes it allocate more than the
// bytes left in it.
type decoder struct {
	r    *bufio.Reader
	h    hash.Hash
	off  int64 // bytes consumed
	size int64
	buf  []byte
}

// corrupt returns an error wrapping ErrCorrupt at the current offset.
func (d *decoder) corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrCorrupt, d.off, fmt.Sprintf(format, args...))
}

// read consumes n bytes into d.buf (reused) and returns them; n larger
// than what is left is a truncation.
func (d *decoder) read(n uint64, what string) ([]byte, error) {
	if left := uint64(d.size - d.off); n > left {
		return nil, d.corrupt("truncated: %s of %d bytes, %d left in the file", what, n, left)
	}
	if uint64(cap(d.buf)) < n {
		d.buf = make([]byte, n)
	}
	b := d.buf[:n]
	if _, err := io.ReadFull(d.r, b); err != nil {
		return nil, d.ioErr(err, what)
	}
	d.h.Write(b)
	d.off += int64(n)
	return b, nil
}

// skip consumes n bytes, hashing them without keeping them.
func (d *decoder) skip(n uint64, what string) error {
	if left := uint64(d.size - d.off); n > left {
		return d.corrupt("truncated: %s of %d bytes, %d left in the file", what, n, left)
	}
	if _, err := io.CopyN(d.h, d.r, int64(n)); err != nil {
		return d.ioErr(err, what)
	}
	d.off += int64(n)
	return nil
}

func (d *decoder) readByte(what string) (byte, error) {
	c, err := d.r.ReadByte()
	if err != nil {
		return 0, d.ioErr(err, what)
	}
	d.h.Write([]byte{c})
	d.off++
	return c, nil
}

func (d *decoder) uvarint(what string) (uint64, error) {
	var x uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		c, err := d.readByte(what)
		if err != nil {
			return 0, err
		}
		if i == binary.MaxVarintLen64-1 && c > 1 {
			break
		}
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return x, nil
		}
	}
	return 0, d.corrupt("%s: malformed length", what)
}

// ioErr describes a read error: the end of the file is a truncation.
func (d *decoder) ioErr(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return d.corrupt("truncated: the file ends in the %s", what)
	}
	return fmt.Errorf("storecopy: read the backup file: %w", err)
}

// decode reads and checks a whole file. With fn nil it only checks;
// otherwise it calls fn with each record (key and value valid only during
// the call). A file that fails a check after fn saw records has been
// partly passed on: Restore calls decode with fn only after a decode
// without it accepted the file.
func decode(ctx context.Context, r io.Reader, size int64, fn func(k, v []byte) error) (Stats, error) {
	var st Stats
	d := &decoder{r: bufio.NewReaderSize(r, 1<<20), h: sha256.New(), size: size}
	if err := d.header(); err != nil {
		return st, err
	}
	var prev []byte
	for {
		tag, err := d.readByte(fmt.Sprintf("tag of record %d", st.Keys+1))
		if err != nil {
			if st.Keys == 0 && d.off == int64(len(header)) {
				return st, d.corrupt("truncated: no records and no trailer after the header")
			}
			return st, err
		}
		if tag == tagEnd {
			break
		}
		if tag != tagRecord {
			return st, d.corrupt("record %d: unknown tag 0x%02x", st.Keys+1, tag)
		}
		if st.Keys%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		n := st.Keys + 1
		klen, err := d.uvarint(fmt.Sprintf("key length of record %d", n))
		if err != nil {
			return st, err
		}
		if klen == 0 || klen > maxKeyLen {
			return st, d.corrupt("record %d: key length %d is not in 1..%d", n, klen, maxKeyLen)
		}
		k, err := d.read(klen, fmt.Sprintf("key of record %d", n))
		if err != nil {
			return st, err
		}
		if isMeta(k) {
			return st, d.corrupt("record %d: key %q is store-internal", n, k)
		}
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			return st, d.corrupt("record %d: key %q does not sort after the previous key %q", n, k, prev)
		}
		prev = append(prev[:0], k...)
		vlen, err := d.uvarint(fmt.Sprintf("value length of record %d", n))
		if err != nil {
			return st, err
		}
		if fn == nil {
			err = d.skip(vlen, fmt.Sprintf("value of record %d", n))
		} else {
			var v []byte
			if v, err = d.read(vlen, fmt.Sprintf("value of record %d", n)); err == nil {
				err = fn(prev, v)
			}
		}
		if err != nil {
			return st, err
		}
		st.Keys++
		st.Bytes += int64(klen + vlen)
	}
	t, err := d.read(16, "trailer")
	if err != nil {
		return st, err
	}
	count, seq := binary.BigEndian.Uint64(t), binary.BigEndian.Uint64(t[8:])
	if count != uint64(st.Keys) {
		return st, d.corrupt("the trailer counts %d records, the file holds %d", count, st.Keys)
	}
	st.Seq = seq
	sum := d.h.Sum(nil)
	stored := make([]byte, sha256.Size)
	if _, err := io.ReadFull(d.r, stored); err != nil {
		return st, d.ioErr(err, "checksum")
	}
	d.off += sha256.Size
	if !bytes.Equal(sum, stored) {
		return st, d.corrupt("checksum mismatch: the file was altered or damaged")
	}
	if d.off != size {
		return st, d.corrupt("%d bytes after the checksum", size-d.off)
	}
	if _, err := d.r.ReadByte(); !errors.Is(err, io.EOF) {
		return st, d.corrupt("bytes after the checksum")
	}
	return st, nil
}

// header checks the header line.
func (d *decoder) header() error {
	line, err := d.r.ReadSlice('\n')
	if len(line) > len(header)+8 {
		line = line[:len(header)+8]
	}
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return fmt.Errorf("storecopy: read the backup file: %w", err)
	}
	switch {
	case len(line) == 0:
		return d.corrupt("the file is empty")
	case string(line) == header:
		d.h.Write(line)
		d.off += int64(len(line))
		return nil
	case len(line) < len(header) && bytes.HasPrefix([]byte(header), line):
		return d.corrupt("truncated: the file ends in its header")
	case !bytes.HasPrefix(line, []byte(magic)):
		return d.corrupt("not a podserver backup file (it does not start with %q)", magic)
	}
	v := bytes.TrimSuffix(line[len(magic):], []byte("\n"))
	if n, err := strconv.Atoi(string(v)); err == nil && n != formatVersion {
		return d.corrupt("format version %d; this podserver reads version %d", n, formatVersion)
	}
	return d.corrupt("malformed header %q", line)
}
