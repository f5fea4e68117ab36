package jsoncheck

import "errors"

// Client-facing messages, one table so that they stay stable and tests can
// name them. They are completed with the byte offset by Error.
const (
	// MsgInvalidUTF8 says the body holds a byte sequence that is not UTF-8.
	MsgInvalidUTF8 = "invalid UTF-8"
	// MsgTooDeep names the nesting limit; it is a format string taking
	// MaxDepth.
	MsgTooDeep = "objects and arrays nested more than %d deep (the nesting limit)"
)

// ErrInvalidUTF8 is wrapped by the *Error for a body that is not UTF-8.
var ErrInvalidUTF8 = errors.New(MsgInvalidUTF8)

// ErrTooDeep is wrapped by the *Error for a body nested deeper than
// MaxDepth.
var ErrTooDeep = errors.New("JSON nested too deeply")
