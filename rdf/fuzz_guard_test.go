package rdf

import (
	"encoding/json"
	"errors"
	"testing"

	"podserver/jsoncheck"
)

// FuzzCheckContexts checks the JSON-LD context pre-check on any document:
// it never panics, its verdict does not depend on the order it walks maps
// in, and it refuses every document with a context whose term chains,
// found by plain recursion here, are cyclic or longer than maxTermChain.
// A document it accepts is then read by json-gold without a crash.
func FuzzCheckContexts(f *testing.F) {
	for _, seed := range [][]byte{
		chainContextDoc(3),
		chainContextDoc(maxTermChain),
		chainContextDoc(maxTermChain + 1),
		scopedContextDoc(3, 4),
		typeScopedContextDoc(2, 3),
		compactIRIDoc(10, 3),
		benchEvent(),
		[]byte(`{"@context":{"a":"b","b":{"@id":"c"},"c":"a"},"@id":""}`),
		[]byte(`{"@context":{"p":"p2:x","p2":"http://ex/","q":{"@reverse":"p:y","@type":"p:t"}},"q":"v"}`),
		[]byte(`{"@context":[null,"https://www.w3.org/ns/activitystreams",{"s":{"@id":"http://ex/s","@context":{"t":"s:x"}}}],"s":[{"t":1},{"@context":{"u":"t"},"u":2}]}`),
		[]byte(`[{"@context":{"@vocab":"http://ex/","@base":"http://b/"},"x":{"@type":"T"}}]`),
		[]byte(`{"@context":{"@protected":"x"},"@id":""}`),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if jsoncheck.Check(data) != nil {
			return
		}
		var doc any
		if json.Unmarshal(data, &doc) != nil {
			return
		}
		err := checkContexts(doc)
		if err != nil && !errors.Is(err, ErrTooCostly) {
			t.Fatalf("error does not wrap ErrTooCostly: %v", err)
		}
		for range 3 {
			if again := checkContexts(doc); (again == nil) != (err == nil) {
				t.Fatalf("verdicts differ between walks: %v, then %v", err, again)
			}
		}
		if err == nil && naiveLongestChain(doc) > maxTermChain {
			t.Fatalf("accepted a context whose term chains are cyclic or longer than %d", maxTermChain)
		}
		if err == nil {
			_, _ = ParseJSONLD(data, "https://pod.example/r")
		}
	})
}

// naiveLongestChain returns the most links of a term chain in any context
// object of v, following refs recursively (maxTermChain+1 for a cycle).
func naiveLongestChain(v any) int {
	longest := 0
	var walk func(v any, inContext bool)
	walk = func(v any, inContext bool) {
		switch v := v.(type) {
		case map[string]any:
			if inContext {
				for term := range v {
					if len(term) == 0 || term[0] != '@' {
						longest = max(longest, chainFrom(v, term, map[string]bool{}))
					}
				}
			}
			for k, e := range v {
				walk(e, k == "@context")
			}
		case []any:
			for _, e := range v {
				walk(e, inContext)
			}
		}
	}
	walk(v, false)
	return longest
}

func chainFrom(m map[string]any, term string, path map[string]bool) int {
	if path[term] || len(path) > maxTermChain {
		return maxTermChain + 1
	}
	path[term] = true
	defer delete(path, term)
	d := 0
	for _, r := range refs(m, term, nil) {
		d = max(d, 1+chainFrom(m, r, path))
	}
	return d
}
