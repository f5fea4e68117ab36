package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"podserver/store"
)

// ErrCommitUnknown is wrapped, with store.ErrUnavailable, by the error of
// an Update whose connection was lost while COMMIT was on its way: the
// batch may or may not have committed. See the package doc.
var ErrCommitUnknown = errors.New("pgstore: the commit's outcome is unknown")

// retryable reports whether err is a serialization failure or a deadlock,
// after which the transaction can be run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// unreachable reports whether err says that the database cannot be used
// now: it cannot be reached, the connection was lost, or the server is
// shutting down or read-only (a standby, after a failover).
func unreachable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, store.ErrUnavailable) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "25006",                                         // read-only SQL transaction
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // admin/crash shutdown, cannot connect now
			pe.Code == "53300": // too many connections
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), pgconn.Timeout(err),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed),
		errors.Is(err, context.DeadlineExceeded):
		return true
	}
	// pgconn reports a use of a connection it closed after a failure
	// with an unexported error that says so.
	return strings.Contains(err.Error(), "conn closed")
}

// unavailable wraps err with store.ErrUnavailable, keeping err in the
// chain, unless it already says so.
func unavailable(what string, err error) error {
	if errors.Is(err, store.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("pgstore: %s: %w: %w", what, store.ErrUnavailable, err)
}

// wrap is the error of a failed database call: wrapped with
// store.ErrUnavailable when the database is unreachable (or the
// connection is known closed), else just annotated.
func wrap(what string, err error, connClosed bool) error {
	if connClosed || unreachable(err) {
		return unavailable(what, err)
	}
	return fmt.Errorf("pgstore: %s: %w", what, err)
}
