// Package jsoncheck is the one pre-check of JSON bodies that come from
// clients and peers, run before they are decoded: the body must be valid
// UTF-8 (encoding/json would silently turn invalid bytes into U+FFFD) and
// nest objects and arrays at most MaxDepth deep (json-gold and our own
// walkers of decoded JSON recurse, and a Go stack overflow is fatal). It is
// one non-recursive pass over the bytes; errors carry the byte offset.
//
// It checks nothing else: syntax stays the decoder's job. This package
// imports no other podserver package, so every layer may call it.
package jsoncheck
