package rdf

import (
	"cmp"
	"slices"
	"sort"
)

// Compare orders terms: the zero Term, then IRIs, blank nodes and literals;
// within a kind by value, then datatype, then language tag.
func (t Term) Compare(u Term) int {
	return cmp.Or(
		cmp.Compare(t.Kind, u.Kind),
		cmp.Compare(t.Value, u.Value),
		cmp.Compare(t.Datatype, u.Datatype),
		cmp.Compare(t.Lang, u.Lang),
	)
}

// Compare orders quads by graph name, subject, predicate and object.
func (q Quad) Compare(r Quad) int {
	return cmp.Or(q.G.Compare(r.G), q.S.Compare(r.S), q.P.Compare(r.P), q.O.Compare(r.O))
}

// SortQuads sorts quads in place by Quad.Compare and removes duplicates,
// returning the shortened slice.
func SortQuads(quads []Quad) []Quad {
	slices.SortFunc(quads, Quad.Compare)
	return slices.Compact(quads)
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
