package rdf

import (
	"strings"

	"github.com/piprate/json-gold/ld"
)

// FromDataset converts a json-gold dataset to quads: the default graph
// first, then named graphs in name order, each in dataset order.
func FromDataset(ds *ld.RDFDataset) []Quad {
	if ds == nil {
		return nil
	}
	n := 0
	for _, g := range ds.Graphs {
		n += len(g)
	}
	quads := make([]Quad, 0, n)
	quads = appendGraph(quads, Term{}, ds.Graphs["@default"])
	for _, name := range sortedKeys(ds.Graphs) {
		if name == "@default" {
			continue
		}
		g := IRI(name)
		if label, ok := strings.CutPrefix(name, "_:"); ok {
			g = Blank(label)
		}
		quads = appendGraph(quads, g, ds.Graphs[name])
	}
	return quads
}

func appendGraph(quads []Quad, g Term, triples []*ld.Quad) []Quad {
	for _, t := range triples {
		if t == nil || t.Subject == nil || t.Predicate == nil || t.Object == nil {
			continue
		}
		quads = append(quads, Quad{S: fromNode(t.Subject), P: fromNode(t.Predicate), O: fromNode(t.Object), G: g})
	}
	return quads
}

func fromNode(n ld.Node) Term {
	switch n := n.(type) {
	case ld.IRI:
		return IRI(n.Value)
	case *ld.IRI:
		return IRI(n.Value)
	case ld.BlankNode:
		return Blank(strings.TrimPrefix(n.Attribute, "_:"))
	case *ld.BlankNode:
		return Blank(strings.TrimPrefix(n.Attribute, "_:"))
	case ld.Literal:
		return fromLiteral(n)
	case *ld.Literal:
		return fromLiteral(*n)
	}
	return Term{}
}

func fromLiteral(l ld.Literal) Term {
	if l.Language != "" {
		return LangLiteral(l.Value, l.Language)
	}
	return Literal(l.Value, l.Datatype)
}

// toDataset converts quads to a json-gold dataset directly (datasetOfSet's
// fallback: json-gold's fromRDF then de-duplicates values itself).
func toDataset(quads []Quad) *ld.RDFDataset {
	ds := ld.NewRDFDataset()
	for _, q := range quads {
		name := "@default"
		switch q.G.Kind {
		case KindIRI:
			name = q.G.Value
		case KindBlank:
			name = "_:" + q.G.Value
		}
		ds.Graphs[name] = append(ds.Graphs[name], ld.NewQuad(toNode(q.S), toNode(q.P), toNode(q.O), name))
	}
	return ds
}

func toNode(t Term) ld.Node {
	switch t.Kind {
	case KindBlank:
		return ld.NewBlankNode("_:" + t.Value)
	case KindLiteral:
		if t.Lang != "" {
			return ld.NewLiteral(t.Value, RDFLangString, t.Lang)
		}
		return ld.NewLiteral(t.Value, t.Datatype, "")
	default:
		return ld.NewIRI(t.Value)
	}
}
