package patch

import (
	"strings"

	"podserver/rdf"
)

// maxOperations bounds the operations of one SPARQL Update request. Their
// evaluation shares one budget whatever their number; this bound keeps a
// request of many cheap operations cheap too.
const maxOperations = 1000

// parseSPARQL parses a SPARQL 1.1 Update request into its operations.
//
// Supported: the prologue (BASE, PREFIX) before any operation, and the
// operations INSERT DATA, DELETE DATA, DELETE { } INSERT { } WHERE { },
// DELETE { } WHERE { }, INSERT { } WHERE { } and DELETE WHERE { },
// separated by ';'. WHERE clauses are basic graph patterns: triples with
// variables, where blank nodes act as variables that are not reported.
// Everything else (GRAPH, WITH, USING, OPTIONAL, FILTER, UNION, MINUS,
// BIND, VALUES, SERVICE, subqueries, property paths and the graph
// management operations) is Malformed with "not supported: ...".
func parseSPARQL(src, base string) ([]*operation, error) {
	p, err := newParser(src, base, true)
	if err != nil {
		return nil, err
	}
	var ops []*operation
	for {
		for {
			ok, err := p.directive(false)
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
		}
		if p.tok.kind == tEOF {
			return ops, nil
		}
		if len(ops) == maxOperations {
			return nil, p.errTok(msgTooManyOps, maxOperations)
		}
		op, err := p.operation()
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
		switch {
		case p.tok.kind == tEOF:
			return ops, nil
		case p.isPunct(";"):
			if err := p.advance(); err != nil {
				return nil, err
			}
		case p.tok.kind == tWord:
			if kw, ok := unsupportedKeyword(p.tok.val); ok {
				return nil, p.errTok("%s: %s", msgNotSupported, kw)
			}
			fallthrough
		default:
			return nil, p.expected("';' or end of input")
		}
	}
}

// Scopes of the SPARQL blocks.
func dataScope(name string) scope     { return scope{name: name, sparql: true} }
func templateScope(name string) scope { return scope{name: name, vars: true, sparql: true} }

// operation parses one update operation.
func (p *parser) operation() (*operation, error) {
	switch {
	case p.isKeyword("INSERT"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.isKeyword("DATA") {
			if err := p.advance(); err != nil {
				return nil, err
			}
			f, err := p.group(dataScope("INSERT DATA"))
			if err != nil {
				return nil, err
			}
			return &operation{insert: f.triples}, nil
		}
		ins, err := p.group(templateScope("INSERT templates"))
		if err != nil {
			return nil, err
		}
		return p.modify(nil, ins.triples)
	case p.isKeyword("DELETE"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		return p.deleteOperation()
	}
	if p.tok.kind == tWord {
		if kw, ok := unsupportedKeyword(p.tok.val); ok {
			return nil, p.errTok("%s: %s", msgNotSupported, kw)
		}
	}
	return nil, p.expected(msgExpectedUpdate)
}

// deleteOperation parses what follows DELETE.
func (p *parser) deleteOperation() (*operation, error) {
	switch {
	case p.isKeyword("DATA"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		f, err := p.group(dataScope("DELETE DATA"))
		if err != nil {
			return nil, err
		}
		if err := noBlanks(f.triples, "DELETE DATA"); err != nil {
			return nil, err
		}
		return &operation{delete: f.triples}, nil
	case p.isKeyword("WHERE"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		f, err := p.group(templateScope("DELETE WHERE"))
		if err != nil {
			return nil, err
		}
		if err := noBlanks(f.triples, "DELETE WHERE"); err != nil {
			return nil, err
		}
		op := &operation{where: f.triples, delete: f.triples, whereLine: f.line, whereCol: f.col}
		op.compile()
		return op, nil
	}
	del, err := p.group(templateScope("DELETE templates"))
	if err != nil {
		return nil, err
	}
	if err := noBlanks(del.triples, "DELETE templates"); err != nil {
		return nil, err
	}
	var ins []pattern
	if p.isKeyword("INSERT") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		f, err := p.group(templateScope("INSERT templates"))
		if err != nil {
			return nil, err
		}
		ins = f.triples
	}
	return p.modify(del.triples, ins)
}

// modify parses the WHERE clause of a DELETE/INSERT operation.
func (p *parser) modify(del, ins []pattern) (*operation, error) {
	if p.isKeyword("USING") {
		return nil, p.errTok("%s: USING", msgNotSupported)
	}
	if !p.isKeyword("WHERE") {
		return nil, p.expected("WHERE")
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	f, err := p.group(templateScope("WHERE"))
	if err != nil {
		return nil, err
	}
	// Blank nodes of a basic graph pattern are variables whose values are
	// not part of the solutions; "_:" keeps their names apart from ?names.
	eachNode(f.triples, func(n *node) {
		if n.term.Kind == rdf.KindBlank {
			n.v, n.term = "_:"+n.term.Value, rdf.Term{}
		}
	})
	op := &operation{where: f.triples, delete: del, insert: ins, whereLine: f.line, whereCol: f.col}
	op.compile()
	return op, nil
}

// compile numbers the variables of the WHERE clause and points the
// templates' variables at them (-1 for a variable WHERE does not bind).
func (op *operation) compile() {
	vars := map[string]int{}
	eachNode(op.where, func(n *node) {
		if !n.isVar() {
			return
		}
		i, ok := vars[n.v]
		if !ok {
			i = len(vars)
			vars[n.v] = i
			if !strings.HasPrefix(n.v, "_:") {
				op.project = append(op.project, i)
			}
		}
		n.vi = i
	})
	op.nvars = len(vars)
	for _, ps := range [][]pattern{op.delete, op.insert} {
		eachNode(ps, func(n *node) {
			if i, ok := vars[n.v]; ok && n.isVar() {
				n.vi = i
			} else {
				n.vi = -1
			}
		})
	}
}

// eachNode calls fn on every node of ps.
func eachNode(ps []pattern, fn func(*node)) {
	for i := range ps {
		fn(&ps[i].s)
		fn(&ps[i].p)
		fn(&ps[i].o)
	}
}

// noBlanks rejects blank nodes in ps, a block called name.
func noBlanks(ps []pattern, name string) error {
	var err error
	eachNode(ps, func(n *node) {
		if err == nil && n.term.Kind == rdf.KindBlank {
			err = malformedAt(n.line, n.col, msgBlankIn, name)
		}
	})
	return err
}
