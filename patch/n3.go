package patch

import (
	"podserver/rdf"
)

// IRIs of the Solid terms an N3 Patch uses.
const (
	solidNS                = "http://www.w3.org/ns/solid/terms#"
	solidInsertDeletePatch = solidNS + "InsertDeletePatch"
	solidWhere             = solidNS + "where"
	solidInserts           = solidNS + "inserts"
	solidDeletes           = solidNS + "deletes"
)

// parseN3 parses an N3 Patch into one strict operation.
//
// The N3 understood is Turtle (directives in either style, prefixed names,
// 'a', literals, numbers, booleans, ';' and ',' lists, [ ] and ( )) plus
// formulae { ... } as objects at the top level and variables ?x inside
// formulae. Rules, quantifiers, paths and nested formulae are rejected.
func parseN3(src, base string) (*operation, error) {
	p, err := newParser(src, base, false)
	if err != nil {
		return nil, err
	}
	top := scope{name: "the patch document outside formulae", formulas: true}
	var stmts []pattern
	for p.tok.kind != tEOF {
		if ok, err := p.directive(true); err != nil {
			return nil, err
		} else if ok {
			continue
		}
		if stmts, err = p.triples(top, stmts); err != nil {
			return nil, err
		}
		if err := p.expectPunct("."); err != nil {
			return nil, err
		}
	}
	return n3Operation(stmts)
}

// formulaProp names the solid property of a formula, or "" for another
// predicate.
func formulaProp(p node) string {
	switch p.term.Value {
	case solidWhere:
		return "solid:where"
	case solidInserts:
		return "solid:inserts"
	case solidDeletes:
		return "solid:deletes"
	}
	return ""
}

// isTypeTriple reports whether t says its subject is a solid:InsertDeletePatch.
func isTypeTriple(t pattern) bool {
	return t.p.term.Value == rdf.RDFType && t.o.term == rdf.IRI(solidInsertDeletePatch)
}

// n3Operation finds the one patch resource among the top-level statements
// and checks the constraints of the Solid Protocol on it.
func n3Operation(stmts []pattern) (*operation, error) {
	var subj rdf.Term
	var first *pattern
	for i, t := range stmts {
		if !isTypeTriple(t) && formulaProp(t.p) == "" {
			continue
		}
		if first == nil {
			subj, first = t.s.term, &stmts[i]
		} else if t.s.term != subj {
			return nil, malformedAt(t.s.line, t.s.col, msgManyPatches)
		}
	}
	if first == nil {
		return nil, &Error{Kind: Malformed, Msg: msgNoPatch}
	}
	op := &operation{strict: true}
	typed := false
	seen := map[string]bool{}
	for _, t := range stmts {
		mine, prop := t.s.term == subj, formulaProp(t.p)
		if t.o.f != nil && (!mine || prop == "") {
			return nil, malformedAt(t.o.line, t.o.col, msgStrayFormula)
		}
		if !mine {
			continue
		}
		if isTypeTriple(t) {
			typed = true
		}
		if prop == "" {
			continue // other statements about the patch, like solid:patches, are ignored
		}
		if seen[prop] {
			return nil, malformedAt(t.p.line, t.p.col, msgDuplicateProp, prop)
		}
		seen[prop] = true
		if t.o.f == nil {
			return nil, malformedAt(t.o.line, t.o.col, msgNotFormula, prop)
		}
		switch t.p.term.Value {
		case solidWhere:
			op.where, op.whereLine, op.whereCol = t.o.f.triples, t.o.line, t.o.col
		case solidInserts:
			op.insert = t.o.f.triples
		case solidDeletes:
			op.delete = t.o.f.triples
		}
	}
	if !typed {
		return nil, malformedAt(first.s.line, first.s.col, msgNotTyped)
	}
	if err := noBlanks(op.where, "solid:where"); err != nil {
		return nil, err
	}
	if err := noBlanks(op.delete, "solid:deletes"); err != nil {
		return nil, err
	}
	op.compile()
	for _, ps := range [][]pattern{op.delete, op.insert} {
		var err error
		eachNode(ps, func(n *node) {
			if err == nil && n.isVar() && n.vi < 0 {
				err = malformedAt(n.line, n.col, msgUnboundVar, n.v)
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return op, nil
}
