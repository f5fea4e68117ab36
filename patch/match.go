package patch

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"podserver/rdf"
)

// Evaluation of basic graph patterns by backtracking: at each step the
// pattern with the fewest candidate triples (given the variables bound so
// far) is matched next, its candidates found through per-position indexes.
// The work is bounded so that a hostile WHERE clause cannot pin a CPU.

// limits bound the work of one operation.
type limits struct {
	solutions int // solutions of the WHERE clause
	instances int // template triples instantiated
	steps     int // candidate triples and patterns tried by the WHERE clause
}

// defaultLimits are generous for real patches: a pod resource has
// thousands of triples, not millions.
func defaultLimits() limits {
	return limits{solutions: 100_000, instances: 1_000_000, steps: 20_000_000}
}

// index holds a graph's triples and, for subject, predicate and object, the
// positions of the triples with each term there.
type index struct {
	triples []rdf.Triple
	by      [3]map[rdf.Term][]int32
}

func newIndex(ts []rdf.Triple) *index {
	x := &index{triples: ts}
	for i := range x.by {
		x.by[i] = map[rdf.Term][]int32{}
	}
	for i, t := range ts {
		x.by[0][t.S] = append(x.by[0][t.S], int32(i))
		x.by[1][t.P] = append(x.by[1][t.P], int32(i))
		x.by[2][t.O] = append(x.by[2][t.O], int32(i))
	}
	return x
}

// matcher is the state of one evaluation.
type matcher struct {
	idx     *index
	pats    []pattern
	done    []bool     // patterns matched on the current path
	bind    []rdf.Term // values of the variables; the zero Term is unbound
	project []int      // named variables, when solutions must be deduplicated
	seen    map[string]struct{}
	line    int // position of the WHERE clause
	col     int
	limit   int // solutions wanted
	budget  int // steps left
	sols    [][]rdf.Term
}

// solve returns up to limit distinct solutions of op's WHERE clause, each a
// slice of values indexed like op's variables, trying at most steps
// candidates.
func solve(idx *index, op *operation, limit, steps int) ([][]rdf.Term, error) {
	m := &matcher{
		idx:    idx,
		pats:   op.where,
		done:   make([]bool, len(op.where)),
		bind:   make([]rdf.Term, op.nvars),
		limit:  limit,
		budget: steps,
		line:   op.whereLine,
		col:    op.whereCol,
	}
	if len(op.project) < op.nvars {
		// Blank nodes in WHERE: different values for them give the same
		// solution.
		m.project, m.seen = op.project, map[string]struct{}{}
	}
	err := m.search(len(op.where))
	return m.sols, err
}

// value gives the value of n under the current bindings.
func (m *matcher) value(n node) (rdf.Term, bool) {
	if n.isVar() {
		t := m.bind[n.vi]
		return t, !t.IsZero()
	}
	return n.term, true
}

// candidates gives the positions of the triples that may match pt, or all
// when no position of pt is bound.
func (m *matcher) candidates(pt pattern) (list []int32, all bool) {
	all = true
	for i, n := range [3]node{pt.s, pt.p, pt.o} {
		t, ok := m.value(n)
		if !ok {
			continue
		}
		l := m.idx.by[i][t]
		if all || len(l) < len(list) {
			list, all = l, false
		}
	}
	return list, all
}

// search matches the left patterns not yet done.
func (m *matcher) search(left int) error {
	if left == 0 {
		m.record()
		return nil
	}
	best, bestN := -1, math.MaxInt
	var cands []int32
	var all bool
	for i, pt := range m.pats {
		if m.done[i] {
			continue
		}
		if m.budget--; m.budget < 0 {
			return malformedAt(m.line, m.col, msgTooComplex)
		}
		l, a := m.candidates(pt)
		n := len(l)
		if a {
			n = len(m.idx.triples)
		}
		if n < bestN {
			best, bestN, cands, all = i, n, l, a
		}
		if n == 0 {
			return nil
		}
	}
	pt := m.pats[best]
	m.done[best] = true
	defer func() { m.done[best] = false }()
	for k := range bestN {
		if m.budget--; m.budget < 0 {
			return malformedAt(m.line, m.col, msgTooComplex)
		}
		ti := k
		if !all {
			ti = int(cands[k])
		}
		var undo [3]int
		nu, ok := m.unify(pt, m.idx.triples[ti], &undo)
		if ok {
			if err := m.search(left - 1); err != nil {
				return err
			}
		}
		for _, vi := range undo[:nu] {
			m.bind[vi] = rdf.Term{}
		}
		if len(m.sols) >= m.limit {
			return nil
		}
	}
	return nil
}

// unify binds the variables of pt to match t, recording in undo the ones it
// bound, and reports whether t matches.
func (m *matcher) unify(pt pattern, t rdf.Triple, undo *[3]int) (int, bool) {
	nu := 0
	for i, n := range [3]node{pt.s, pt.p, pt.o} {
		v := [3]rdf.Term{t.S, t.P, t.O}[i]
		if !n.isVar() {
			if n.term != v {
				return nu, false
			}
			continue
		}
		if b := m.bind[n.vi]; !b.IsZero() {
			if b != v {
				return nu, false
			}
			continue
		}
		m.bind[n.vi] = v
		undo[nu] = n.vi
		nu++
	}
	return nu, true
}

// record keeps the current bindings as a solution unless an equal one was
// kept already.
func (m *matcher) record() {
	if m.seen != nil {
		var b strings.Builder
		for _, vi := range m.project {
			t := m.bind[vi]
			for _, s := range [...]string{t.Value, t.Datatype, t.Lang} {
				b.WriteString(strconv.Itoa(len(s)))
				b.WriteByte(byte('0' + t.Kind))
				b.WriteString(s)
			}
		}
		key := b.String()
		if _, dup := m.seen[key]; dup {
			return
		}
		m.seen[key] = struct{}{}
	}
	m.sols = append(m.sols, slices.Clone(m.bind))
}
