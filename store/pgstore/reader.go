package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"podserver/store"
)

// querier is what a reader needs of a connection in a transaction: a
// pgx.Tx (View) or the pgx.Conn of a writer's batch.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Conn() *pgx.Conn
}

// reader is a store.Reader over a transaction.
type reader struct {
	ctx context.Context
	tx  querier
	// err is the first database error: after it the transaction is
	// aborted (txn only; a View reports errors to fn only).
	err error
}

// fail records the first database error, wrapped (with
// store.ErrUnavailable when the database is unreachable), and returns it.
func (r *reader) fail(what string, err error) error {
	err = wrap(what, err, r.tx.Conn().IsClosed())
	if r.err == nil {
		r.err = err
	}
	return err
}

// Get implements store.Reader.
func (r *reader) Get(key []byte) ([]byte, error) {
	var v []byte
	err := r.tx.QueryRow(r.ctx, `SELECT v FROM podserver_kv WHERE k = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, r.fail("get", err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// GetMany implements store.MultiGetter: one query for every key.
func (r *reader) GetMany(keys [][]byte) ([][]byte, error) {
	out := make([][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	at := make(map[string][]int, len(keys)) // a key may be asked twice
	for i, k := range keys {
		at[string(k)] = append(at[string(k)], i)
	}
	rows, err := r.tx.Query(r.ctx, `SELECT k, v FROM podserver_kv WHERE k = ANY($1::bytea[])`, keys)
	if err != nil {
		return nil, r.fail("get many", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return nil, r.fail("get many", err)
		}
		if v == nil {
			v = []byte{}
		}
		for j, i := range at[string(k)] {
			if j > 0 {
				v = bytes.Clone(v) // each answer a copy of its own
			}
			out[i] = v
		}
	}
	if err := rows.Err(); err != nil {
		return nil, r.fail("get many", err)
	}
	return out, nil
}

// Scan queries used by reader.Scan, by direction and upper bound.
const (
	scanAsc      = `SELECT k, v FROM podserver_kv WHERE k >= $1 AND k < $2 ORDER BY k LIMIT $3`
	scanAscOpen  = `SELECT k, v FROM podserver_kv WHERE k >= $1 ORDER BY k LIMIT $2`
	scanDesc     = `SELECT k, v FROM podserver_kv WHERE k >= $1 AND k < $2 ORDER BY k DESC LIMIT $3`
	scanDescOpen = `SELECT k, v FROM podserver_kv WHERE k >= $1 ORDER BY k DESC LIMIT $2`
)

type row struct{ k, v []byte }

// Scan implements store.Reader. It reads pages of scanPage rows and calls
// fn between queries, so fn may use the transaction.
func (r *reader) Scan(prefix, start []byte, reverse bool, fn func(k, v []byte) error) error {
	lo, hi, ok := bounds(prefix, start, reverse)
	if !ok {
		return nil
	}
	for {
		page, err := r.page(lo, hi, reverse)
		if err != nil {
			return r.fail("scan", err)
		}
		for _, p := range page {
			if err := fn(p.k, p.v); err != nil {
				if errors.Is(err, store.ErrStop) {
					return nil
				}
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		last := page[len(page)-1].k
		if reverse {
			hi = last // exclusive
		} else {
			lo = append(last, 0) // the least key after last
		}
	}
}

func (r *reader) page(lo, hi []byte, reverse bool) ([]row, error) {
	var rows pgx.Rows
	var err error
	switch {
	case !reverse && hi != nil:
		rows, err = r.tx.Query(r.ctx, scanAsc, lo, hi, scanPage)
	case !reverse:
		rows, err = r.tx.Query(r.ctx, scanAscOpen, lo, scanPage)
	case hi != nil:
		rows, err = r.tx.Query(r.ctx, scanDesc, lo, hi, scanPage)
	default:
		rows, err = r.tx.Query(r.ctx, scanDescOpen, lo, scanPage)
	}
	if err != nil {
		return nil, err
	}
	out := make([]row, 0, scanPage)
	for rows.Next() {
		var p row
		if err := rows.Scan(&p.k, &p.v); err != nil {
			rows.Close()
			return nil, err
		}
		if p.v == nil {
			p.v = []byte{}
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// bounds turns Scan's arguments into the half-open key range [lo, hi), hi
// nil for no upper bound; ok is false when the range is empty. It is
// store's scanBounds, which is not exported.
func bounds(prefix, start []byte, reverse bool) (lo, hi []byte, ok bool) {
	lo, hi = bytes.Clone(prefix), store.PrefixEnd(prefix)
	if lo == nil {
		lo = []byte{}
	}
	if start != nil {
		if !reverse {
			if bytes.Compare(start, lo) > 0 {
				lo = bytes.Clone(start)
			}
		} else {
			s := append(bytes.Clone(start), 0) // keys <= start
			if hi == nil || bytes.Compare(s, hi) < 0 {
				hi = s
			}
		}
	}
	return lo, hi, hi == nil || bytes.Compare(lo, hi) < 0
}

// OnCommit implements store.Txn.
func (t *txn) OnCommit(fn func()) { t.onCommit = append(t.onCommit, fn) }

func checkKey(key []byte) error {
	switch {
	case len(key) == 0:
		return errors.New("pgstore: empty key")
	case len(key) > MaxKeySize:
		return fmt.Errorf("pgstore: key of %d bytes exceeds %d", len(key), MaxKeySize)
	}
	return nil
}

// connQ is a pgx.Conn as a querier.
type connQ struct{ c *pgx.Conn }

func (q connQ) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return q.c.Exec(ctx, sql, args...)
}

func (q connQ) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return q.c.Query(ctx, sql, args...)
}

func (q connQ) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return q.c.QueryRow(ctx, sql, args...)
}

func (q connQ) Conn() *pgx.Conn { return q.c }
