// Package apierr is how podserver handlers report failure: an Error carries
// the HTTP status, the message the client sees and the internal cause, which
// is logged and never sent. Handle adapts error-returning handlers to gin and
// is the one place where errors become responses.
//
// It imports only package store, whose ErrNoSpace and ErrUnavailable it
// turns into 507 and 503.
package apierr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"syscall"

	"github.com/gin-gonic/gin"

	"podserver/store"
)

// Error is an error with an HTTP status and a client-facing message.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Msg is sent to the client as {"error": Msg}. It must not contain
	// secrets or internal detail.
	Msg string
	// Cause is the internal cause; logged, never sent.
	Cause error
	// Header holds extra response headers (e.g. Allow on a 405).
	Header http.Header
}

// Error implements error.
func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Msg, e.Cause)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Msg)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// New returns an Error with the given status and message.
func New(status int, msg string) *Error { return &Error{Status: status, Msg: msg} }

// Newf returns an Error with a formatted message.
func Newf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an Error with the given status and message whose cause is err.
func Wrap(status int, msg string, err error) *Error {
	return &Error{Status: status, Msg: msg, Cause: err}
}

// With returns a copy of e carrying the header key: value.
func (e *Error) With(key, value string) *Error {
	c := *e
	c.Header = e.Header.Clone()
	if c.Header == nil {
		c.Header = http.Header{}
	}
	c.Header.Add(key, value)
	return &c
}

// The messages of the common errors, for tests and documentation.
const (
	MsgUnauthenticated     = "Authentication required: send an API key in x-api-key"
	MsgForbidden           = "Forbidden: you do not have access to this resource"
	MsgNotFound            = "Not found"
	MsgInsufficientStorage = "Insufficient storage: the server is low on disk space and accepts no writes until space is freed; nothing was written, reads still work, retry later"
	MsgUnavailable         = "Service unavailable: the server cannot reach its database; retry later (a write cut off as it committed may have been stored: a publish with an \"id\" is safe to repeat)"
)

// Common errors. Each call returns a new *Error, so no caller can change
// what another one sends.

// Unauthenticated is the 401 for a request without valid credentials.
func Unauthenticated() *Error { return New(http.StatusUnauthorized, MsgUnauthenticated) }

// Forbidden is the 403 for an agent lacking the access mode.
func Forbidden() *Error { return New(http.StatusForbidden, MsgForbidden) }

// NotFound is the 404 for a missing resource the agent may know about.
func NotFound() *Error { return New(http.StatusNotFound, MsgNotFound) }

// InsufficientStorage is the 507 for a write refused because the server
// is short of disk space (any error wrapping syscall.ENOSPC, such as
// store.ErrNoSpace). Nothing was written; reads still work. Space comes
// back only when someone frees it: Retry-After asks clients not to retry
// at once.
func InsufficientStorage() *Error {
	return New(http.StatusInsufficientStorage, MsgInsufficientStorage).With("Retry-After", "60")
}

// Unavailable is the 503 for a request the server could not serve because
// its store cannot reach its database (any error wrapping
// store.ErrUnavailable): a database down, a connection lost, a failover
// under way. Retry-After asks clients to come back in a few seconds.
func Unavailable() *Error {
	return New(http.StatusServiceUnavailable, MsgUnavailable).With("Retry-After", "5")
}

// Status returns the HTTP status for err: its Error status, 499 for a
// cancelled request, 503 for a deadline, 507 for a full disk (ENOSPC), and
// 500 otherwise.
func Status(err error) int {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Status
	case errors.Is(err, syscall.ENOSPC):
		return http.StatusInsufficientStorage
	case errors.Is(err, store.ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled):
		return 499
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// Handle adapts an error-returning handler to gin. A nil error means the
// handler wrote its response. Otherwise the error is written as JSON
// {"error": "..."}; 5xx are logged at error level with the request id and
// their cause (507, a full disk, at warning level), 4xx at debug level.
func Handle(log *slog.Logger, h func(c *gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			Write(c, log, err)
		}
	}
}

// Write writes err as a JSON error response and logs it.
func Write(c *gin.Context, log *slog.Logger, err error) {
	status := Status(err)
	msg := http.StatusText(status)
	var e *Error
	if !errors.As(err, &e) {
		switch {
		case status == http.StatusInsufficientStorage:
			e = InsufficientStorage()
		case errors.Is(err, store.ErrUnavailable):
			e = Unavailable()
		}
	}
	if e != nil {
		msg = e.Msg
		for k, vs := range e.Header {
			for _, v := range vs {
				c.Writer.Header().Add(k, v)
			}
		}
	}
	switch {
	case status == 499:
		msg = "request cancelled"
	case e == nil && status >= 500:
		msg = "internal server error"
	}
	if log != nil {
		attrs := []any{"status", status, "path", c.Request.URL.Path, "request_id", c.GetString("request_id"), "err", err}
		switch {
		case status == http.StatusInsufficientStorage:
			// Expected while the disk is full, which the store logs
			// once as an error: one line per refused write is a warning.
			log.WarnContext(c.Request.Context(), "request refused: disk full", attrs...)
		case errors.Is(err, store.ErrUnavailable):
			log.WarnContext(c.Request.Context(), "request refused: database unreachable", attrs...)
		case status >= 500:
			log.ErrorContext(c.Request.Context(), "request failed", attrs...)
		default:
			log.DebugContext(c.Request.Context(), "request refused", attrs...)
		}
	}
	if c.Writer.Written() {
		return
	}
	c.Header("Content-Type", "application/json; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(clientStatus(status), gin.H{"error": msg})
}

func clientStatus(s int) int {
	if s == 499 {
		return http.StatusBadRequest
	}
	return s
}
