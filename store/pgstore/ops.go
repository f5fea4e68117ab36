package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math"

	"podserver/store"
)

// Stats is a snapshot of a Store's operation, for health checks and
// metrics.
type Stats struct {
	// TotalConns, IdleConns and AcquiredConns are the pool's connections.
	TotalConns, IdleConns, AcquiredConns int32
	// AcquireCount is how many connections were taken from the pool;
	// EmptyAcquireCount how many of those had to wait for one.
	AcquireCount, EmptyAcquireCount int64
	// Retries is how many batches were re-run after a serialization
	// failure or deadlock.
	Retries uint64
	// Batches and Updates are the transactions committed and the update
	// functions whose writes they held (group commit: Updates/Batches
	// functions per transaction).
	Batches, Updates uint64
	// FeedSeen is the highest change id known to be committed and
	// FeedDelivered the id up to which changes were reported to
	// OnChange; FeedLag is their difference (0 without a feed).
	FeedSeen, FeedDelivered, FeedLag int64
	// FeedResets is how many times OnReset was called.
	FeedResets uint64
	// Reachable is false when the last operation found the database
	// unreachable (see store.ErrUnavailable).
	Reachable bool
}

// Stats returns the store's current statistics.
func (s *Store) Stats() Stats {
	ps := s.pool.Stat()
	st := Stats{
		TotalConns:        ps.TotalConns(),
		IdleConns:         ps.IdleConns(),
		AcquiredConns:     ps.AcquiredConns(),
		AcquireCount:      ps.AcquireCount(),
		EmptyAcquireCount: ps.EmptyAcquireCount(),
		Retries:           s.retries.Load(),
		Batches:           s.batches.Load(),
		Updates:           s.updates.Load(),
		Reachable:         s.reachable.Load(),
	}
	if f := s.feed; f != nil {
		st.FeedDelivered = f.delivered.Load()
		st.FeedSeen = max(f.seen.Load(), st.FeedDelivered)
		st.FeedLag = st.FeedSeen - st.FeedDelivered
		st.FeedResets = f.resets.Load()
	}
	return st
}

// Retries returns how many times a batch was re-run after a serialization
// failure or deadlock.
func (s *Store) Retries() uint64 { return s.retries.Load() }

// Ping checks that the database answers, within the UnavailableTimeout;
// its error wraps store.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.ops.Done()
	conn, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	pctx, cancel := context.WithTimeout(ctx, s.unavail)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		err = unavailable("ping", err)
		s.result(err)
		return err
	}
	s.result(nil)
	return nil
}

// LastSeq returns the highest value NextSeq has returned, on any node (0
// if none). Values of updates that failed count.
func (s *Store) LastSeq(ctx context.Context) (uint64, error) {
	var n uint64
	err := s.View(ctx, func(r store.Reader) error {
		rd := r.(*reader)
		var last int64
		var called bool
		if err := rd.tx.QueryRow(rd.ctx, `SELECT last_value, is_called FROM podserver_seq`).Scan(&last, &called); err != nil {
			return rd.fail("read the sequence", err)
		}
		if called {
			n = uint64(last)
		}
		return nil
	})
	return n, err
}

// EnsureSeqAbove makes NextSeq return values greater than n from now on,
// on every node. It never lowers the sequence. It runs as an update, under
// the writers' turn, so no NextSeq runs meanwhile.
func (s *Store) EnsureSeqAbove(ctx context.Context, n uint64) error {
	if n > math.MaxInt64 {
		return fmt.Errorf("pgstore: sequence value %d is out of range", n)
	}
	if n == 0 {
		return nil
	}
	return s.Update(ctx, func(tx store.Txn) error {
		t, ok := tx.(*txn)
		if !ok {
			return errors.New("pgstore: not a pgstore transaction")
		}
		// setval(n, true): the next nextval returns n+1. Not transactional:
		// it holds even if the batch is re-run.
		_, err := t.tx.Exec(t.ctx, `SELECT setval('podserver_seq', $1::bigint)
FROM podserver_seq WHERE NOT is_called OR last_value < $1::bigint`, int64(n))
		if err != nil {
			return t.fail("set the sequence", err)
		}
		return nil
	})
}

// Sync reports to Options.OnChange every change committed, by any node,
// before Sync was called, and returns once it has (or with the error that
// kept it from reading them, wrapping store.ErrUnavailable when the
// database cannot be reached). The feed reports other nodes' changes in
// the background within milliseconds; a server calls Sync before it
// serves a request from its caches, so that a write another node
// acknowledged before the request came applies to it. Calls made while
// one reads share the next read, so under load a read serves many
// requests. Without OnChange it does nothing.
func (s *Store) Sync(ctx context.Context) error {
	if s.feed == nil {
		return nil
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.ops.Done()
	return s.feed.sync(ctx)
}
