package jsoncheck

import (
	"fmt"
	"unicode/utf8"
)

// MaxDepth is how deep objects and arrays may nest in a JSON body: generous
// for real documents (JSON-LD events and notifications rarely pass 10), and
// shallow enough that every recursive walk of a decoded value is safe.
const MaxDepth = 256

// Error is a body that fails the check: Err (ErrInvalidUTF8 or ErrTooDeep)
// happened at byte Offset (0-based) of the body.
type Error struct {
	Offset int64
	Err    error
}

// Error says what is wrong and at which byte.
func (e *Error) Error() string {
	return fmt.Sprintf("%s at byte offset %d", e.Reason(), e.Offset)
}

// Reason says what is wrong, without the offset: for callers that report
// the position their own way.
func (e *Error) Reason() string {
	if e.Err == ErrTooDeep {
		return fmt.Sprintf(MsgTooDeep, MaxDepth)
	}
	return e.Err.Error()
}

// Unwrap returns ErrInvalidUTF8 or ErrTooDeep.
func (e *Error) Unwrap() error { return e.Err }

// Check reports the first invalid UTF-8 sequence in data, or the first '{'
// or '[' that opens a level deeper than MaxDepth, as an *Error. It does not
// check the JSON syntax; data that passes may still be invalid JSON.
func Check(data []byte) error {
	depth := 0
	inString := false
	for i := 0; i < len(data); {
		c := data[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n <= 1 {
				return &Error{Offset: int64(i), Err: ErrInvalidUTF8}
			}
			i += n
			continue
		}
		switch {
		case inString:
			switch c {
			case '\\':
				if i+1 < len(data) && data[i+1] < utf8.RuneSelf {
					i++ // an escaped quote or backslash does not end the string
				}
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > MaxDepth {
				return &Error{Offset: int64(i), Err: ErrTooDeep}
			}
		case (c == '}' || c == ']') && depth > 0:
			depth--
		}
		i++
	}
	return nil
}
