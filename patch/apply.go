package patch

import (
	"context"
	"fmt"
	"strconv"

	"podserver/rdf"
)

// state is a graph being patched. The default graph is kept as order, the
// triples in the order they arrived (the input's first, then the inserted
// ones), and live, which holds every triple of order and says whether it is
// still present: a deleted triple stays in order, so one deleted and
// inserted again keeps its place.
//
// The state also holds what is left of the patch's budget (see limits) and
// what the result has grown to, so that every operation draws on one
// budget and a result past the limits is refused as it grows, before it
// takes the memory.
type state struct {
	ctx    context.Context
	input  []rdf.Quad
	live   map[rdf.Triple]bool
	order  []rdf.Triple
	used   map[string]bool // blank node labels in use; nil until needed
	nfresh int

	limits limits // the limits of the whole patch, for errors
	left   limits // what is left of them (steps, solutions, instances)
	n      int    // present default-graph triples
	named  int    // quads in named graphs
	grown  int    // bytes of terms of present triples beyond the input's
	idx    *index // index of order, built by the first WHERE clause
}

func newState(ctx context.Context, graph []rdf.Quad, lim limits) *state {
	s := &state{ctx: ctx, input: graph, live: make(map[rdf.Triple]bool, len(graph)), limits: lim, left: lim}
	for _, q := range graph {
		if q.G.IsZero() {
			t := q.Triple()
			if _, seen := s.live[t]; !seen {
				s.order = append(s.order, t)
				s.live[t] = true
				s.n++
			}
		} else {
			s.named++
		}
	}
	return s
}

func (s *state) has(t rdf.Triple) bool { return s.live[t] }

// termBytes is what t's terms take in a document, roughly.
func termBytes(t rdf.Triple) int {
	n := 0
	for _, x := range [...]rdf.Term{t.S, t.P, t.O} {
		n += len(x.Value) + len(x.Datatype) + len(x.Lang) + 2
	}
	return n
}

// add adds t, failing when the result would go past the limits.
func (s *state) add(t rdf.Triple) error {
	live, seen := s.live[t]
	if live {
		return nil
	}
	if s.n+s.named >= s.limits.statements {
		return &Error{Kind: TooLarge, Msg: fmt.Sprintf(msgTooManyStmts, s.limits.statements)}
	}
	if s.grown += termBytes(t); s.grown > s.limits.bytes {
		return &Error{Kind: TooLarge, Msg: fmt.Sprintf(msgTooBig, s.limits.bytes)}
	}
	if !seen {
		s.order = append(s.order, t)
		if s.idx != nil {
			s.idx.add(t)
		}
	}
	s.live[t] = true
	s.n++
	return nil
}

func (s *state) remove(t rdf.Triple) {
	if s.live[t] {
		s.live[t] = false
		s.n--
		s.grown -= termBytes(t)
	}
}

// index returns the index of the triples, building it the first time.
// Later operations keep it up to date (add), so that it costs one pass over
// the document, as reading it does, and no operation pays for the whole
// graph again.
func (s *state) index() *index {
	if s.idx == nil {
		s.idx = newIndex(s.order, s.live)
	}
	return s.idx
}

// result returns the patched graph: the input quads still present, in
// their order, then the inserted triples. It uses up the state.
func (s *state) result() []rdf.Quad {
	out := make([]rdf.Quad, 0, len(s.order)+len(s.input)/8)
	var named map[rdf.Quad]bool // quads of named graphs seen, to drop duplicates
	for _, q := range s.input {
		if !q.G.IsZero() {
			if named == nil {
				named = map[rdf.Quad]bool{}
			}
			if !named[q] {
				named[q] = true
				out = append(out, q)
			}
			continue
		}
		if t := q.Triple(); s.live[t] {
			s.live[t] = false // emitted
			out = append(out, q)
		}
	}
	for _, t := range s.order {
		if s.live[t] {
			s.live[t] = false
			out = append(out, rdf.Quad{S: t.S, P: t.P, O: t.O})
		}
	}
	return out
}

// fresh returns a blank node whose label no quad of the input and no
// earlier fresh node has.
func (s *state) fresh() rdf.Term {
	if s.used == nil {
		s.used = map[string]bool{}
		for _, q := range s.input {
			for _, t := range [...]rdf.Term{q.S, q.P, q.O, q.G} {
				if t.Kind == rdf.KindBlank {
					s.used[t.Value] = true
				}
			}
		}
	}
	for {
		label := "b" + strconv.Itoa(s.nfresh)
		s.nfresh++
		if !s.used[label] {
			s.used[label] = true
			return rdf.Blank(label)
		}
	}
}

// apply runs one operation: it evaluates WHERE on the graph as it is, then
// removes the instantiated deletions and adds the instantiated insertions.
func (s *state) apply(op *operation) error {
	if err := s.ctx.Err(); err != nil {
		return fmt.Errorf("patch evaluation stopped: %w", err)
	}
	sols := [][]rdf.Term{nil}
	if len(op.where) > 0 {
		limit := s.left.solutions + 1
		if op.strict {
			limit = 2
		}
		var err error
		if sols, err = solve(s.ctx, s.index(), op, limit, &s.left.steps, s.limits.steps); err != nil {
			return err
		}
		switch {
		case op.strict && len(sols) == 0:
			return conflictAt(op.whereLine, op.whereCol, msgNoMatch)
		case op.strict && len(sols) > 1:
			return conflictAt(op.whereLine, op.whereCol, msgManyMatches)
		case len(sols) > s.left.solutions:
			return malformedAt(op.whereLine, op.whereCol, msgTooManySolns+limitSolutions, s.limits.solutions)
		}
		s.left.solutions -= len(sols)
	}
	if s.left.instances -= len(sols) * (len(op.delete) + len(op.insert)); s.left.instances < 0 {
		return malformedAt(op.whereLine, op.whereCol, msgTooManyTriples+limitInstances, s.limits.instances)
	}
	var dels, ins []rdf.Triple
	for _, sol := range sols {
		for _, pt := range op.delete {
			t, ok := s.instantiate(pt, sol, nil)
			if op.strict {
				if !ok || !s.has(t) {
					return conflictAt(pt.s.line, pt.s.col, msgDeleteAbsent)
				}
			}
			if ok {
				dels = append(dels, t)
			}
		}
		var blanks map[string]rdf.Term // fresh nodes of this solution
		for _, pt := range op.insert {
			if blanks == nil {
				blanks = map[string]rdf.Term{}
			}
			t, ok := s.instantiate(pt, sol, blanks)
			if !ok && op.strict {
				return conflictAt(pt.s.line, pt.s.col, msgInvalidTriple)
			}
			if ok {
				ins = append(ins, t)
			}
		}
	}
	for _, t := range dels {
		s.remove(t)
	}
	for _, t := range ins {
		if err := s.add(t); err != nil {
			return err
		}
	}
	return nil
}

// instantiate substitutes the solution's values for the variables of pt
// and fresh blank nodes (one per label, kept in blanks) for its blank
// nodes. It reports false when a variable is unbound or the result is not
// a valid RDF triple.
func (s *state) instantiate(pt pattern, sol []rdf.Term, blanks map[string]rdf.Term) (rdf.Triple, bool) {
	var ts [3]rdf.Term
	for i, n := range [3]node{pt.s, pt.p, pt.o} {
		switch {
		case n.isVar():
			if n.vi < 0 || n.vi >= len(sol) || sol[n.vi].IsZero() {
				return rdf.Triple{}, false
			}
			ts[i] = sol[n.vi]
		case n.term.Kind == rdf.KindBlank && blanks != nil:
			b, ok := blanks[n.term.Value]
			if !ok {
				b = s.fresh()
				blanks[n.term.Value] = b
			}
			ts[i] = b
		default:
			ts[i] = n.term
		}
	}
	t := rdf.Triple{S: ts[0], P: ts[1], O: ts[2]}
	ok := (t.S.Kind == rdf.KindIRI || t.S.Kind == rdf.KindBlank) && t.P.Kind == rdf.KindIRI && !t.O.IsZero()
	return t, ok
}
