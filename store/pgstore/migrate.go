package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migration is one numbered step of the schema. Steps are appended, never
// edited: a database records the versions it has applied.
type migration struct {
	version int
	sql     string
}

// migrations returns the schema's steps, in version order.
func migrations() []migration {
	return []migration{
		{1, `CREATE TABLE podserver_kv (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE SEQUENCE podserver_seq AS bigint MINVALUE 1;`},
		// The cluster-wide change feed (feed.go): watched writes by id in
		// commit order (v NULL for a delete), and the highest id pruned.
		{2, `CREATE TABLE podserver_changes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, k bytea NOT NULL, v bytea);
CREATE TABLE podserver_feed (one boolean PRIMARY KEY DEFAULT true CHECK (one), pruned bigint NOT NULL DEFAULT 0);
INSERT INTO podserver_feed DEFAULT VALUES;`},
	}
}

// migrateLock is the advisory lock key under which nodes migrate one at a
// time ("podsrvmg").
const migrateLock = 0x706f647372766d67

// Migrate creates or migrates the schema of the database at url and
// returns the versions it applied.
func Migrate(ctx context.Context, url string) ([]int, error) {
	pool, err := connect(ctx, url, 30*time.Second)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	return migrateApplied(ctx, pool)
}

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := migrateApplied(ctx, pool)
	return err
}

// migrateApplied applies the missing migrations in one transaction, under
// an advisory lock so that nodes starting together migrate once.
func migrateApplied(ctx context.Context, pool *pgxpool.Pool) ([]int, error) {
	var applied []int
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS podserver_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("create the migrations table: %w", err)
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM podserver_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("read the schema version: %w", err)
		}
		all := migrations()
		if n := all[len(all)-1].version; current > n {
			return fmt.Errorf("the database's schema version %d is newer than this podserver's %d", current, n)
		}
		for _, m := range all {
			if m.version <= current {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %d: %w", m.version, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO podserver_migrations (version) VALUES ($1)`, m.version); err != nil {
				return fmt.Errorf("record migration %d: %w", m.version, err)
			}
			applied = append(applied, m.version)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: migrate: %w", err)
	}
	return applied, nil
}
