package rdf

import (
	"errors"
	"fmt"

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

	// MaxStatements bounds the statements (triples or quads) of one
	// document that is read whole. Reading costs about 1-2 KB of memory
	// per statement whatever its size in bytes (a Turtle collection
	// "( 1 1 1 ... )" is 2 bytes a statement), and converting it to
	// another format as much again, so without it a 10 MB body could cost
	// gigabytes. Readers that stream (TurtleReader, NQuadsReader) are not
	// bound by it.
	MaxStatements = 200_000
)

// MaxExpandedBytes bounds the bytes of the terms (IRIs and literals) one
// parse may produce, whatever its prefixes and compact IRIs expand to: 6
// times the largest body (10 MiB), where a realistic Turtle document's
// terms take 3.5 times its size (a 1 MB one: 3.7 MB). Every reader of a
// syntax with prefixes or contexts holds to it (the Turtle readers, the
// JSON-LD pre-check, the patch parser).
const MaxExpandedBytes = 64 << 20

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

// ErrTooManyStatements is wrapped by the error a whole-document reader
// returns for a document of more than MaxStatements statements.
var ErrTooManyStatements = errors.New("document has too many statements")

// tooLarge is the error of a document whose terms expand past
// MaxExpandedBytes.
func tooLarge() error {
	return fmt.Errorf("%w: "+msgExpandedTooLarge, ErrTooCostly, MaxExpandedBytes)
}

// tooMany is the error of a document past MaxStatements.
func tooMany() error {
	return fmt.Errorf("%w: "+msgTooManyStatements, ErrTooManyStatements, MaxStatements)
}

// Client-facing messages of this package's limits.
const (
	// msgTurtleTooDeep names the Turtle nesting limit; it takes MaxDepth.
	msgTurtleTooDeep = "blank node property lists [ ] and collections ( ) nested more than %d deep (the nesting limit)"
	// msgTooManyStatements names the statement limit; it takes
	// MaxStatements.
	msgTooManyStatements = "more than %d statements in one document (the statement limit); split it into several resources"
)
