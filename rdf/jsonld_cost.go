package rdf

import (
	"fmt"
	"strconv"
)

// json-gold turns an expanded document into RDF by building a node map
// (JSON-LD 1.1, Node Map Generation), and it adds each value of a node's
// property after comparing it with every value the property already has:
// n values of one property of one node cost n²/2 comparisons. 40,000
// numbers in one array, a 230 KB body, took a minute of CPU. The readers
// bound that work before json-gold starts: nodeMapWork counts the
// comparisons the node map would make, from the expanded document, in one
// pass that costs as much as the expansion did.

// maxNodeMapCompares bounds the comparisons json-gold's node map may make
// for one document: about 0.3 s of CPU. It lets one node have about 2,800
// values of one property, and any number of nodes have a few each.
const maxNodeMapCompares = 4_000_000

// valueLimit is about how many values of one property of one node
// maxNodeMapCompares allows (n²/2 comparisons), as the messages say.
const valueLimit = 2800

// msgJSONLDTooCostly says why a JSON-LD document that would cost too
// much to read is refused; it takes the count and the property.
const msgJSONLDTooCostly = "the document gives one node %d or more values of %s, more than a JSON-LD document may (the value limit is about %d values of one property of one node); send it as Turtle or N-Triples, or spread the values over several nodes"

// nodeMapWork walks an expanded JSON-LD document the way json-gold's
// GenerateNodeMap does and counts the comparisons its de-duplication
// makes, stopping with an error once they pass maxNodeMapCompares.
type nodeMapWork struct {
	counts   map[string]int // node id + "\x00" + property -> values added
	compares int
	fresh    int // counter for nodes without @id (each is a node of its own)
}

// check walks the expanded document exp.
func (w *nodeMapWork) check(exp any) error {
	return w.element(exp, "", "", false, false)
}

// add counts one value added to property of node, with the comparisons
// json-gold makes before adding it.
func (w *nodeMapWork) add(node, property string) error {
	if w.counts == nil {
		w.counts = map[string]int{}
	}
	k := node + "\x00" + property
	n := w.counts[k]
	w.compares += n
	w.counts[k] = n + 1
	if w.compares > maxNodeMapCompares {
		return &JSONLDError{Offset: -1, Msg: fmt.Sprintf(msgJSONLDTooCostly, n+1, property, valueLimit), Err: ErrTooManyStatements}
	}
	return nil
}

// element follows GenerateNodeMap: subject and property are the active
// subject and property ("" at the top), inList whether element is an item
// of a list (list items are appended without comparison), reverse whether
// property is a reverse property (the node gets the subject as a value).
func (w *nodeMapWork) element(element any, subject, property string, inList, reverse bool) error {
	if arr, ok := element.([]any); ok {
		for _, e := range arr {
			if err := w.element(e, subject, property, inList, reverse); err != nil {
				return err
			}
		}
		return nil
	}
	m, ok := element.(map[string]any)
	if !ok {
		return nil // json-gold refuses it itself
	}
	if _, isValue := m["@value"]; isValue {
		if !inList && property != "" {
			return w.add(subject, property)
		}
		return nil
	}
	if list, isList := m["@list"]; isList {
		if !inList && property != "" {
			if err := w.add(subject, property); err != nil {
				return err
			}
		}
		return w.element(list, subject, property, true, false)
	}
	// A node object.
	id, _ := m["@id"].(string)
	if id == "" {
		w.fresh++
		id = "\x00" + strconv.Itoa(w.fresh)
	}
	switch {
	case reverse:
		if err := w.add(id, property); err != nil {
			return err
		}
	case property != "" && !inList:
		if err := w.add(subject, property); err != nil {
			return err
		}
	}
	if types, ok := m["@type"].([]any); ok {
		for range types {
			if err := w.add(id, "@type"); err != nil {
				return err
			}
		}
	} else if _, ok := m["@type"]; ok {
		if err := w.add(id, "@type"); err != nil {
			return err
		}
	}
	if rev, ok := m["@reverse"].(map[string]any); ok {
		for p, vs := range rev {
			// Each node of vs gets this node as a value of p.
			if err := w.element(vs, id, p, false, true); err != nil {
				return err
			}
		}
	}
	for _, k := range []string{"@graph", "@included"} {
		if g, ok := m[k]; ok {
			if err := w.element(g, "", "", false, false); err != nil {
				return err
			}
		}
	}
	return w.properties(m, id)
}

// properties walks the values of a node object's properties.
func (w *nodeMapWork) properties(m map[string]any, id string) error {
	for p, v := range m {
		switch p {
		case "@id", "@type", "@index", "@reverse", "@graph", "@included":
			continue
		}
		if err := w.element(v, id, p, false, false); err != nil {
			return err
		}
	}
	return nil
}
