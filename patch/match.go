package patch

import (
	"context"
	"fmt"
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

// limits bound applying one patch, all its operations together, so that
// what a request may cost does not grow with the number of operations it
// sends.
type limits struct {
	solutions  int // solutions of the WHERE clauses
	instances  int // template triples instantiated
	steps      int // candidate triples and patterns tried
	statements int // default-graph triples of the result
	bytes      int // bytes of terms the result may gain over the input
}

// defaultLimits are generous for real patches (a pod resource has
// thousands of triples, not millions) and keep the evaluation of a hostile
// one to some tens of milliseconds of CPU (BenchmarkWorstCase), beyond the
// cost of reading the document, which is that of any request for it. The
// result is held to the limits of a PUT: rdf.MaxStatements statements
// and, for its growth, maxBytes.
func defaultLimits(maxBytes int) limits {
	return limits{solutions: 20_000, instances: 100_000, steps: 250_000,
		statements: rdf.MaxStatements, bytes: maxBytes}
}

// ctxEvery is how many steps pass between checks of the context.
const ctxEvery = 1 << 12

// index holds the triples a graph being patched has held and, for subject,
// predicate and object, the positions of the triples with each term there.
// It grows with the graph (add) and is never rebuilt: a triple removed
// stays, and live says which triples are present.
type index struct {
	triples []rdf.Triple
	live    map[rdf.Triple]bool
	by      [3]map[rdf.Term][]int32
}

// newIndex indexes ts, whose present triples live gives.
func newIndex(ts []rdf.Triple, live map[rdf.Triple]bool) *index {
	x := &index{live: live}
	for i := range x.by {
		x.by[i] = map[rdf.Term][]int32{}
	}
	for _, t := range ts {
		x.add(t)
	}
	return x
}

// add indexes t, a triple the index does not hold yet.
func (x *index) add(t rdf.Triple) {
	i := int32(len(x.triples))
	x.triples = append(x.triples, t)
	x.by[0][t.S] = append(x.by[0][t.S], i)
	x.by[1][t.P] = append(x.by[1][t.P], i)
	x.by[2][t.O] = append(x.by[2][t.O], i)
}

// matcher is the state of one evaluation.
type matcher struct {
	ctx     context.Context
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
	total   int // the step limit, for the error
	sols    [][]rdf.Term
}

// solve returns up to limit distinct solutions of op's WHERE clause, each a
// slice of values indexed like op's variables, trying at most *steps
// candidates; it takes the steps it used from *steps, and ends early when
// ctx is done. total is the step limit of the whole patch, for the error.
func solve(ctx context.Context, idx *index, op *operation, limit int, steps *int, total int) ([][]rdf.Term, error) {
	m := &matcher{
		ctx:    ctx,
		total:  total,
		idx:    idx,
		pats:   op.where,
		done:   make([]bool, len(op.where)),
		bind:   make([]rdf.Term, op.nvars),
		limit:  limit,
		budget: *steps,
		line:   op.whereLine,
		col:    op.whereCol,
	}
	if len(op.project) < op.nvars {
		// Blank nodes in WHERE: different values for them give the same
		// solution.
		m.project, m.seen = op.project, map[string]struct{}{}
	}
	err := m.search(len(op.where))
	*steps = max(m.budget, 0)
	return m.sols, err
}

// step takes one step from the budget; it fails when the budget is spent
// or the context is done.
func (m *matcher) step() error {
	if m.budget--; m.budget < 0 {
		return malformedAt(m.line, m.col, msgTooComplex+limitSteps, m.total)
	}
	if m.budget%ctxEvery == 0 {
		if err := m.ctx.Err(); err != nil {
			return fmt.Errorf("patch evaluation stopped: %w", err)
		}
	}
	return nil
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
		if err := m.step(); err != nil {
			return err
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
		if err := m.step(); err != nil {
			return err
		}
		ti := k
		if !all {
			ti = int(cands[k])
		}
		t := m.idx.triples[ti]
		if !m.idx.live[t] {
			continue // removed by an earlier operation
		}
		var undo [3]int
		nu, ok := m.unify(pt, t, &undo)
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
