package rdf

import (
	"strconv"
	"strings"
)

// maxListNesting bounds how deep JSON-LD lists nest in a node the writer
// puts out (a list of lists of ...). json-gold's fromRDF nests lists of
// lists as deep as the data does; unrollDeepLists undoes that past this
// depth. The embedder leaves room for it within maxWriteNesting.
const maxListNesting = 16

// maxEmbedNesting bounds how deep embedBlankNodes places blank nodes inside
// each other; lists inside an embedded node take the rest of
// maxWriteNesting.
const maxEmbedNesting = maxWriteNesting - maxListNesting

// unrollDeepLists rewrites, in the expanded output of fromRDF, every list
// nested more than maxListNesting deep inside another list as the
// rdf:first/rdf:rest nodes it stands for, with fresh blank node labels
// (starting with prefix, which no label of the dataset starts with). The
// new nodes go into the node list of the graph that held the list. Same
// dataset, bounded depth; the work is a loop over a growing node list, so
// it does not recurse with the depth of the data.
func unrollDeepLists(expanded []any, prefix string) []any {
	u := &unroller{prefix: prefix}
	for _, n := range expanded {
		if node, ok := n.(map[string]any); ok {
			if graph, ok := node["@graph"].([]any); ok {
				node["@graph"] = u.nodes(graph)
			}
		}
	}
	return u.nodes(expanded)
}

type unroller struct {
	prefix string
	n      int
	added  []any // cell nodes made while walking the current node list
}

// nodes walks a graph's node list, appending the cell nodes of unrolled
// lists (which are walked in turn).
func (u *unroller) nodes(list []any) []any {
	for i := 0; i < len(list); i++ {
		node, ok := list[i].(map[string]any)
		if !ok {
			continue
		}
		for k, v := range node {
			if vals, ok := v.([]any); ok && !strings.HasPrefix(k, "@") {
				u.values(vals, 0)
			}
		}
		list = append(list, u.added...)
		u.added = u.added[:0]
	}
	return list
}

// values walks the values of a property (depth 0) or the items of a list
// (depth = its nesting), replacing lists that would nest too deep by a
// reference to their first cell.
func (u *unroller) values(vals []any, depth int) {
	for i, v := range vals {
		m, ok := v.(map[string]any)
		if !ok {
			continue
		}
		items, ok := m["@list"].([]any)
		if !ok {
			continue
		}
		if depth+1 <= maxListNesting {
			u.values(items, depth+1)
			continue
		}
		vals[i] = u.cells(items)
	}
}

// cells makes the rdf:first/rdf:rest nodes of a list and returns the
// reference that stands for it.
func (u *unroller) cells(items []any) map[string]any {
	if len(items) == 0 {
		return map[string]any{"@id": RDFNil}
	}
	ids := make([]string, len(items))
	for i := range items {
		ids[i] = "_:" + u.prefix + strconv.Itoa(u.n)
		u.n++
	}
	for i, item := range items {
		rest := RDFNil
		if i+1 < len(items) {
			rest = ids[i+1]
		}
		u.added = append(u.added, map[string]any{
			"@id":    ids[i],
			RDFFirst: []any{item},
			RDFRest:  []any{map[string]any{"@id": rest}},
		})
	}
	return map[string]any{"@id": ids[0]}
}

// freshBlankPrefix returns a prefix no blank node label of quads starts
// with, for labels the writer makes up: "list" and one more "x" than any
// label starting with "list" has after it.
func freshBlankPrefix(quads []Quad) string {
	run := -1
	for _, q := range quads {
		for _, t := range [4]Term{q.S, q.P, q.O, q.G} {
			if rest, ok := strings.CutPrefix(t.Value, "list"); ok && t.Kind == KindBlank {
				run = max(run, len(rest)-len(strings.TrimLeft(rest, "x")))
			}
		}
	}
	return "list" + strings.Repeat("x", run+1)
}
