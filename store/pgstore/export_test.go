package pgstore

import "context"

// Queued returns how many Update calls wait for the writer goroutine.
func Queued(s *Store) int { return len(s.reqs) }

// QueryInt runs a query returning one integer on s's pool.
func QueryInt(ctx context.Context, s *Store, sql string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, sql).Scan(&n)
	return n, err
}
