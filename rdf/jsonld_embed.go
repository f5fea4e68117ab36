package rdf

import "strings"

// embedBlankNodes reshapes the flat node list that JSON-LD's fromRDF makes so
// that it reads like the JSON people write: a blank node used as the object
// of exactly one statement, in the graph where its own statements are, is
// written inside that statement, and a blank node nothing refers to loses its
// label. Both keep the dataset the same up to blank node names.
//
// Blank node labels are shared by the whole dataset, so counts are taken
// across all graphs; a blank node that names a graph or a type, or has
// statements in more than one graph, is left alone. Nodes are embedded at
// most maxEmbedNesting levels deep (lists count as levels); a deeper one
// keeps its label and is written at the top, where it nests its own
// chain, so the recursion here is bounded whatever the data.
func embedBlankNodes(expanded []any) []any {
	e := &embedder{
		subjects: map[string]int{},
		refs:     map[string]int{},
		refGraph: map[string]string{},
		home:     map[string]string{},
		nodes:    map[string]map[string]any{},
		done:     map[string]bool{},
	}
	e.scanList(expanded, "")
	return e.rebuild(expanded, "")
}

type embedder struct {
	subjects map[string]int            // blank label -> graphs it has statements in
	refs     map[string]int            // blank label -> references (types/graph names count 2)
	refGraph map[string]string         // blank label -> graph of its last reference
	home     map[string]string         // blank label -> graph of its statements
	nodes    map[string]map[string]any // blank label -> its node object
	done     map[string]bool           // blank label -> already placed
}

// Graphs are named by the @id of their graph node; the default graph is "".

// scanList counts, for one graph's node list, statements and references.
func (e *embedder) scanList(list []any, graph string) {
	for _, n := range list {
		node, ok := n.(map[string]any)
		if !ok {
			continue
		}
		id, _ := node["@id"].(string)
		if strings.HasPrefix(id, "_:") {
			if _, named := node["@graph"]; named {
				e.refs[id] += 2
			}
			e.subjects[id]++
			e.home[id] = graph
			e.nodes[id] = node
		}
		for k, v := range node {
			switch k {
			case "@id":
			case "@type":
				types, _ := v.([]any)
				for _, t := range types {
					if s, _ := t.(string); strings.HasPrefix(s, "_:") {
						e.refs[s] += 2
					}
				}
			case "@graph":
				inner, _ := v.([]any)
				e.scanList(inner, id)
			default:
				e.scanValues(v, graph)
			}
		}
	}
}

func (e *embedder) scanValues(v any, graph string) {
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			e.scanValues(x, graph)
		}
	case map[string]any:
		if list, ok := v["@list"]; ok {
			e.scanValues(list, graph)
			return
		}
		if id, ok := v["@id"].(string); ok && len(v) == 1 && strings.HasPrefix(id, "_:") {
			e.refs[id]++
			e.refGraph[id] = graph
		}
	}
}

// embeddable reports whether the blank node id may be written in place of
// its one reference.
func (e *embedder) embeddable(id, graph string) bool {
	return e.subjects[id] == 1 && e.refs[id] == 1 && e.refGraph[id] == graph && e.home[id] == graph
}

// rebuild returns a graph's node list with embeddable nodes moved into their
// referencing statements. Nodes only reachable through a cycle of embeddable
// nodes, or past the nesting limit, stay at the top, so nothing is lost.
func (e *embedder) rebuild(list []any, graph string) []any {
	// Embedding removes "@id" from the embedded nodes: read them first.
	ids := make([]string, len(list))
	for i, n := range list {
		if node, ok := n.(map[string]any); ok {
			ids[i], _ = node["@id"].(string)
		}
	}
	var out []any
	var pending []string
	for i, n := range list {
		node, ok := n.(map[string]any)
		if !ok {
			out = append(out, n)
			continue
		}
		id := ids[i]
		if strings.HasPrefix(id, "_:") && e.embeddable(id, graph) {
			pending = append(pending, id)
			continue
		}
		e.embedInto(node, graph, 0)
		if strings.HasPrefix(id, "_:") && e.refs[id] == 0 && e.subjects[id] == 1 {
			delete(node, "@id")
		}
		out = append(out, node)
	}
	for _, id := range pending {
		if e.done[id] {
			continue
		}
		node := e.nodes[id]
		// Only reachable through a cycle, or too deep: keep it, with its
		// label, at the top.
		e.done[id] = true
		e.embedInto(node, graph, 0)
		out = append(out, node)
	}
	return out
}

// embedInto replaces references to embeddable blank nodes inside node's
// values with the nodes themselves, recursively; node is depth levels deep.
func (e *embedder) embedInto(node map[string]any, graph string, depth int) {
	for k, v := range node {
		switch k {
		case "@id", "@type":
		case "@graph":
			inner, _ := v.([]any)
			id, _ := node["@id"].(string)
			node[k] = e.rebuild(inner, id)
		default:
			node[k] = e.embedValues(v, graph, depth)
		}
	}
}

// embedValues embeds into the values v of a node depth levels deep.
func (e *embedder) embedValues(v any, graph string, depth int) any {
	switch v := v.(type) {
	case []any:
		for i, x := range v {
			v[i] = e.embedValues(x, graph, depth)
		}
		return v
	case map[string]any:
		if list, ok := v["@list"]; ok {
			v["@list"] = e.embedValues(list, graph, depth+1)
			return v
		}
		id, ok := v["@id"].(string)
		if !ok || len(v) != 1 || !e.embeddable(id, graph) || e.done[id] || depth >= maxEmbedNesting {
			return v
		}
		e.done[id] = true
		node := e.nodes[id]
		e.embedInto(node, graph, depth+1)
		delete(node, "@id")
		return node
	}
	return v
}
