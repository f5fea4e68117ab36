package patch

import (
	"errors"
	"fmt"
)

// Kind classifies a patch error by what the server should answer.
type Kind int

// The kinds of Error.
const (
	// Malformed means the patch document is not a valid, supported patch
	// (the server answers 422 Unprocessable Content).
	Malformed Kind = iota + 1
	// Conflict means the patch is valid but cannot be applied to the
	// current state of the resource (the server answers 409 Conflict).
	Conflict
	// TooLarge means the patched document would be past the limits of a
	// document (statements, bytes) that a PUT has (the server answers 413
	// Content Too Large).
	TooLarge
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case Malformed:
		return "malformed patch"
	case Conflict:
		return "patch conflict"
	case TooLarge:
		return "patch result too large"
	}
	return fmt.Sprintf("patch error kind %d", int(k))
}

// Error is a patch that cannot be parsed or applied. Line and Col are
// 1-based positions in the patch document (Col counts characters); they are
// zero when no position is known.
type Error struct {
	Kind      Kind
	Msg       string
	Line, Col int
}

// Error says what is wrong and, when known, where.
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s at line %d, column %d: %s", e.Kind, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Msg)
}

// ErrUnsupported is wrapped by the error Parse returns for a media type
// that is not a patch format this package knows.
var ErrUnsupported = errors.New("unsupported patch media type")

// Client-facing messages, one table so that they stay stable and tests can
// name them. Messages that take details are completed with ": detail" or
// used as format strings where they hold a verb.
const (
	msgNotSupported    = "not supported"
	msgUnexpected      = "unexpected %s"
	msgExpected        = "expected %s, found %s"
	msgBadIRI          = "malformed IRI"
	msgBadString       = "malformed string literal"
	msgBadEscape       = "malformed escape sequence"
	msgBadUTF8         = "invalid UTF-8"
	msgBadChar         = "unexpected character %q"
	msgBadName         = "malformed name"
	msgUndefinedPrefix = "undefined prefix %q"
	// msgExpandedTooLarge takes rdf.MaxExpandedBytes.
	msgExpandedTooLarge = "the patch's IRIs expand to more than %d bytes (the expansion limit): its prefixes or base are too long for how often they are used"
	msgTooDeep          = "[ ], ( ) and { } nested more than %d deep (the nesting limit)"
	// The limits of applying a patch, all its operations together. Each is
	// completed by a detail naming the limit (see the limit* formats).
	msgTooComplex     = "the patch is too costly to evaluate"
	msgTooManySolns   = "the WHERE clauses have too many solutions"
	msgTooManyTriples = "the patch would insert or delete too many triples"
	msgTooManyOps     = "more than %d operations in one patch (the operation limit); send several patches"
	msgTooManyStmts   = "the patched document would hold more than %d statements (the statement limit)"
	msgTooBig         = "the patch would add more than %d bytes of terms to the document (the size limit of a request body)"

	limitSteps     = ": its WHERE clauses may try %d candidate triples in all (the evaluation limit); bind more of each pattern or send several patches"
	limitSolutions = ": its WHERE clauses may have %d solutions in all (the solution limit)"
	limitInstances = ": its templates may be instantiated %d times in all (the template limit)"

	msgNoPatch        = "no patch resource: expected a resource of type solid:InsertDeletePatch"
	msgManyPatches    = "more than one patch resource"
	msgNotTyped       = "the patch resource is not of type solid:InsertDeletePatch"
	msgDuplicateProp  = "more than one %s"
	msgNotFormula     = "the object of %s must be a formula { ... }"
	msgStrayFormula   = "a formula may only be the object of solid:where, solid:inserts or solid:deletes"
	msgNestedFormula  = "formulae may not be nested"
	msgBlankIn        = "blank nodes are not allowed in %s"
	msgVariableIn     = "variables are not allowed in %s"
	msgUnboundVar     = "variable ?%s does not occur in solid:where"
	msgNoMatch        = "solid:where has no match in the resource"
	msgManyMatches    = "solid:where has more than one match in the resource"
	msgDeleteAbsent   = "a triple to delete is not in the resource"
	msgInvalidTriple  = "an instantiated triple to insert is not valid RDF (literal subject or non-IRI predicate)"
	msgExpectedUpdate = "an update operation (INSERT or DELETE)"
)

// malformedAt returns a Malformed error at a position.
func malformedAt(line, col int, format string, args ...any) *Error {
	return &Error{Kind: Malformed, Msg: fmt.Sprintf(format, args...), Line: line, Col: col}
}

// conflictAt returns a Conflict error at a position of the patch document.
func conflictAt(line, col int, msg string) *Error {
	return &Error{Kind: Conflict, Msg: msg, Line: line, Col: col}
}
