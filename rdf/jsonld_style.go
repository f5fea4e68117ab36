package rdf

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// ContextVocabulary reads a JSON-LD context document (such as
// ContextDocument) and returns the namespace of each prefix it defines (a
// string term ending in '#' or '/', @vocab included) and the keywords it
// aliases (a term whose value is "@id", "@type", ...).
func ContextVocabulary(ctxDoc []byte) (namespaces map[string]string, aliased map[string]bool, err error) {
	var doc struct {
		Context map[string]any `json:"@context"`
	}
	if err := json.Unmarshal(ctxDoc, &doc); err != nil {
		return nil, nil, fmt.Errorf("rdf: context document: %w", err)
	}
	namespaces, aliased = map[string]string{}, map[string]bool{}
	for k, v := range doc.Context {
		s, ok := v.(string)
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(s, "@"):
			aliased[s] = true
		case strings.HasSuffix(s, "#") || strings.HasSuffix(s, "/"):
			namespaces[k] = s
		}
	}
	return namespaces, aliased, nil
}

// StyleViolations checks a compact JSON-LD document (decoded with
// encoding/json; its @context is skipped) against the one style
// WriteJSONLD writes: it lists every key the context aliases (such as
// "@id" where the context has "id"), and every key or string value that is
// a full IRI in one of namespaces. Nil means the document keeps the style.
func StyleViolations(doc any, namespaces map[string]string, aliased map[string]bool) []string {
	var out []string
	full := func(s string) bool {
		for _, ns := range namespaces {
			if strings.HasPrefix(s, ns) {
				return true
			}
		}
		return false
	}
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if k == "@context" {
					continue
				}
				if aliased[k] {
					out = append(out, fmt.Sprintf("%s: key %q, which the context aliases", path, k))
				}
				if full(k) {
					out = append(out, fmt.Sprintf("%s: key %q is a full IRI", path, k))
				}
				walk(e, path+"/"+k)
			}
		case []any:
			for i, e := range v {
				walk(e, fmt.Sprintf("%s[%d]", path, i))
			}
		case string:
			if full(v) {
				out = append(out, fmt.Sprintf("%s: %q is a full IRI", path, v))
			}
		}
	}
	walk(doc, "")
	sort.Strings(out)
	return out
}
