package rdf

import (
	"errors"

	"podserver/jsoncheck"
)

// Nesting limits. Readers refuse documents nested deeper than they allow
// (JSON-LD documents are held to jsoncheck.MaxDepth, JSON objects and
// arrays, before json-gold sees them). Writers never fail on depth: past
// maxWriteNesting they write labelled blank nodes or flat node objects
// instead of nesting further, so every graph, however it was stored, is
// served in every format, and what they write reads back under the limits.
const (
	// MaxDepth bounds how deep Turtle blank node property lists [ ] and
	// collections ( ) may nest in a document that is read.
	MaxDepth = 256

	// maxWriteNesting bounds how deep the Turtle and JSON-LD writers nest
	// blank nodes and lists. A JSON-LD nesting level takes at most two
	// JSON levels (an object and an array) plus the few of the document's
	// frame, well within jsoncheck.MaxDepth; Turtle levels count one each.
	maxWriteNesting = 64
)

// Compile-time checks that writers stay readable: these fail to compile
// if a limit is raised past what the readers accept.
const (
	_ = uint(MaxDepth - maxWriteNesting)
	_ = uint(jsoncheck.MaxDepth - 2*maxWriteNesting - 8)
)

// ErrTooDeep is wrapped by the error a reader returns for a document that
// nests deeper than its limit (a *SyntaxError for Turtle, a *JSONLDError
// for JSON-LD).
var ErrTooDeep = errors.New("document nested too deeply")

// Client-facing messages of this package's limits.
const (
	// msgTurtleTooDeep names the Turtle nesting limit; it takes MaxDepth.
	msgTurtleTooDeep = "blank node property lists [ ] and collections ( ) nested more than %d deep (the nesting limit)"
)
