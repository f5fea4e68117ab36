package rdf

import (
	"hash/maphash"
	"slices"
	"strings"
)

// Isomorphic reports whether two sets of quads are the same RDF dataset up
// to a renaming of blank nodes. Duplicate quads are ignored and language
// tags compare case-insensitively, as RDF 1.1 says.
//
// It colours blank nodes by iterated hashing of their neighbourhoods (the
// colours of isomorphic datasets agree), and where colours leave a choice it
// tries each candidate in turn (backtracking). A mapping is only accepted
// after checking every quad, so hash collisions cannot cause a false answer.
func Isomorphic(a, b []Quad) bool {
	ga, gb := newIsoGraph(a), newIsoGraph(b)
	if len(ga.set) != len(gb.set) || len(ga.blanks) != len(gb.blanks) || len(ga.quads) != len(gb.quads) {
		return false
	}
	for q := range ga.set {
		if !hasBlank(q) {
			if _, ok := gb.set[q]; !ok {
				return false
			}
		}
	}
	if len(ga.blanks) == 0 {
		return true
	}
	h := &isoHasher{seed: maphash.MakeSeed()}
	h.fix(ga)
	h.fix(gb)
	ca := make([]uint64, len(ga.blanks))
	cb := make([]uint64, len(gb.blanks))
	return h.search(ga, gb, ca, cb)
}

// isoGraph is one side of an isomorphism test: its quads that mention blank
// nodes, with the blank nodes numbered.
type isoGraph struct {
	set    map[Quad]struct{}
	blanks []string
	quads  [][4]int    // blank number per position, or -1
	fixed  [][4]uint64 // hash of the term per non-blank position
	terms  [][4]Term
	occurs [][]int // blank number -> indexes into quads
}

func normalizeQuad(q Quad) Quad {
	q.S.Lang = strings.ToLower(q.S.Lang)
	q.O.Lang = strings.ToLower(q.O.Lang)
	return q
}

func hasBlank(q Quad) bool {
	return q.S.Kind == KindBlank || q.P.Kind == KindBlank || q.O.Kind == KindBlank || q.G.Kind == KindBlank
}

func newIsoGraph(quads []Quad) *isoGraph {
	g := &isoGraph{set: make(map[Quad]struct{}, len(quads))}
	index := map[string]int{}
	for _, q := range quads {
		q = normalizeQuad(q)
		if _, dup := g.set[q]; dup {
			continue
		}
		g.set[q] = struct{}{}
		if !hasBlank(q) {
			continue
		}
		terms := [4]Term{q.S, q.P, q.O, q.G}
		var slots [4]int
		for i, t := range terms {
			slots[i] = -1
			if t.Kind != KindBlank {
				continue
			}
			n, ok := index[t.Value]
			if !ok {
				n = len(g.blanks)
				index[t.Value] = n
				g.blanks = append(g.blanks, t.Value)
				g.occurs = append(g.occurs, nil)
			}
			slots[i] = n
			if !slices.Contains(g.occurs[n], len(g.quads)) {
				g.occurs[n] = append(g.occurs[n], len(g.quads))
			}
		}
		g.quads = append(g.quads, slots)
		g.terms = append(g.terms, terms)
	}
	return g
}

type isoHasher struct {
	seed maphash.Seed
}

// fix computes the hashes of the non-blank terms of g.
func (h *isoHasher) fix(g *isoGraph) {
	g.fixed = make([][4]uint64, len(g.quads))
	for i, terms := range g.terms {
		for p, t := range terms {
			if g.quads[i][p] < 0 {
				g.fixed[i][p] = h.term(t)
			}
		}
	}
}

func (h *isoHasher) term(t Term) uint64 {
	var m maphash.Hash
	m.SetSeed(h.seed)
	m.WriteByte(byte(t.Kind))
	m.WriteString(t.Value)
	m.WriteByte(0)
	m.WriteString(t.Datatype)
	m.WriteByte(0)
	m.WriteString(t.Lang)
	return m.Sum64()
}

// mix combines two hashes (order matters).
func mix(h, x uint64) uint64 {
	h ^= x + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
	h ^= h >> 31
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 29
	return h
}

// refine recomputes the colours of g's blank nodes from their quads.
func refine(g *isoGraph, colors []uint64) []uint64 {
	next := make([]uint64, len(colors))
	var sigs []uint64
	for b, occ := range g.occurs {
		sigs = sigs[:0]
		for _, qi := range occ {
			s := uint64(0x5bd1e995)
			for p, n := range g.quads[qi] {
				switch {
				case n == b:
					s = mix(s, 0xfeed+uint64(p))
				case n >= 0:
					s = mix(s, colors[n]+uint64(p))
				default:
					s = mix(s, g.fixed[qi][p]+uint64(p))
				}
			}
			sigs = append(sigs, s)
		}
		slices.Sort(sigs)
		c := colors[b]
		for _, s := range sigs {
			c = mix(c, s)
		}
		next[b] = c
	}
	return next
}

// histogram counts the blank nodes of each colour.
func histogram(colors []uint64) map[uint64]int {
	m := make(map[uint64]int, len(colors))
	for _, c := range colors {
		m[c]++
	}
	return m
}

func sameHistogram(x, y map[uint64]int) bool {
	if len(x) != len(y) {
		return false
	}
	for c, n := range x {
		if y[c] != n {
			return false
		}
	}
	return true
}

// search refines the colourings to a fixpoint, then either checks the
// mapping they determine or branches on the smallest ambiguous class,
// trying each candidate in turn. The branches are kept on an explicit
// stack, not the Go stack: a graph of many look-alike blank nodes branches
// once per node.
func (h *isoHasher) search(ga, gb *isoGraph, ca, cb []uint64) bool {
	// choice is a branch point: x of ga is tried against each y of gb with
	// colour pick, from next on.
	type choice struct {
		ca, cb []uint64
		x      int
		pick   uint64
		next   int
	}
	var stack []choice
	for {
		if ra, rb, hist, ok := stableColors(ga, gb, ca, cb); ok {
			// Pick the smallest class with more than one member.
			var pick uint64
			size := 0
			for c, n := range hist {
				if n > 1 && (size == 0 || n < size || (n == size && c < pick)) {
					pick, size = c, n
				}
			}
			if size == 0 {
				if verifyMapping(ga, gb, ra, rb) {
					return true
				}
			} else {
				stack = append(stack, choice{ca: ra, cb: rb, x: slices.Index(ra, pick), pick: pick})
			}
		}
		// Take the next untried candidate, backtracking as needed.
		for {
			if len(stack) == 0 {
				return false
			}
			top := &stack[len(stack)-1]
			y := top.next
			for y < len(top.cb) && top.cb[y] != top.pick {
				y++
			}
			if y == len(top.cb) {
				stack = stack[:len(stack)-1]
				continue
			}
			top.next = y + 1
			ca, cb = slices.Clone(top.ca), slices.Clone(top.cb)
			ca[top.x] = mix(top.pick, 0xc0ffee)
			cb[y] = ca[top.x]
			break
		}
	}
}

// stableColors refines the colourings of both graphs until the number of
// colours stops growing; ok is false when the colour histograms differ
// (no isomorphism extends the current choices).
func stableColors(ga, gb *isoGraph, ca, cb []uint64) ([]uint64, []uint64, map[uint64]int, bool) {
	hist := histogram(ca)
	if !sameHistogram(hist, histogram(cb)) {
		return nil, nil, nil, false
	}
	for {
		na, nb := refine(ga, ca), refine(gb, cb)
		nh := histogram(na)
		if !sameHistogram(nh, histogram(nb)) {
			return nil, nil, nil, false
		}
		stable := len(nh) == len(hist)
		ca, cb, hist = na, nb, nh
		if stable {
			return ca, cb, hist, true
		}
	}
}

// verifyMapping checks that mapping each blank node of ga to the blank node
// of gb with the same (unique) colour maps ga's quads onto gb's.
func verifyMapping(ga, gb *isoGraph, ca, cb []uint64) bool {
	byColor := make(map[uint64]string, len(cb))
	for i, c := range cb {
		byColor[c] = gb.blanks[i]
	}
	for qi, terms := range ga.terms {
		q := [4]Term(terms)
		for p, n := range ga.quads[qi] {
			if n >= 0 {
				q[p] = Blank(byColor[ca[n]])
			}
		}
		if _, ok := gb.set[Quad{S: q[0], P: q[1], O: q[2], G: q[3]}]; !ok {
			return false
		}
	}
	return true
}
