package patch

import (
	"strconv"

	"podserver/rdf"
)

// state is a graph being patched. The default graph is kept as order, the
// triples in the order they arrived (the input's first, then the inserted
// ones), and live, which holds every triple of order and says whether it is
// still present: a deleted triple stays in order, so one deleted and
// inserted again keeps its place.
type state struct {
	input  []rdf.Quad
	live   map[rdf.Triple]bool
	order  []rdf.Triple
	used   map[string]bool // blank node labels in use; nil until needed
	nfresh int
	limits limits
}

func newState(graph []rdf.Quad, lim limits) *state {
	s := &state{input: graph, live: make(map[rdf.Triple]bool, len(graph)), limits: lim}
	for _, q := range graph {
		if q.G.IsZero() {
			s.add(q.Triple())
		}
	}
	return s
}

func (s *state) has(t rdf.Triple) bool { return s.live[t] }

func (s *state) add(t rdf.Triple) {
	if _, seen := s.live[t]; !seen {
		s.order = append(s.order, t)
	}
	s.live[t] = true
}

func (s *state) remove(t rdf.Triple) {
	if s.live[t] {
		s.live[t] = false
	}
}

// triples returns the present triples in order.
func (s *state) triples() []rdf.Triple {
	out := make([]rdf.Triple, 0, len(s.order))
	for _, t := range s.order {
		if s.live[t] {
			out = append(out, t)
		}
	}
	return out
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
	sols := [][]rdf.Term{nil}
	if len(op.where) > 0 {
		limit := s.limits.solutions + 1
		if op.strict {
			limit = 2
		}
		var err error
		if sols, err = solve(newIndex(s.triples()), op, limit, s.limits.steps); err != nil {
			return err
		}
		switch {
		case op.strict && len(sols) == 0:
			return conflictAt(op.whereLine, op.whereCol, msgNoMatch)
		case op.strict && len(sols) > 1:
			return conflictAt(op.whereLine, op.whereCol, msgManyMatches)
		case len(sols) > s.limits.solutions:
			return malformedAt(op.whereLine, op.whereCol, msgTooManySolns)
		}
	}
	if len(sols)*(len(op.delete)+len(op.insert)) > s.limits.instances {
		return malformedAt(op.whereLine, op.whereCol, msgTooManyTriples)
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
		s.add(t)
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
