package ldp

import (
	"net/http"
	"reflect"
	"testing"
)

func TestParseLinks(t *testing.T) {
	const bc = "http://www.w3.org/ns/ldp#BasicContainer"
	for _, tc := range []struct {
		name string
		vs   []string
		want []link
	}{
		{"quoted rel", []string{`<` + bc + `>; rel="type"`}, []link{{bc, []string{"type"}}}},
		{"token rel", []string{`<` + bc + `>; rel=type`}, []link{{bc, []string{"type"}}}},
		{"spaces and case", []string{` < ` + bc + ` > ;REL = "Type" `}, []link{{bc, []string{"type"}}}},
		{"several rels", []string{`<` + bc + `>; rel="describedby type"`}, []link{{bc, []string{"describedby", "type"}}}},
		{"several links in one field", []string{`<a>; rel="acl", <` + bc + `>; rel=type; title="x, y; z"`},
			[]link{{"a", []string{"acl"}}, {bc, []string{"type"}}}},
		{"several fields", []string{`<a>; rel=acl`, `<b>;rel="type"`}, []link{{"a", []string{"acl"}}, {"b", []string{"type"}}}},
		{"commas and semicolons in the target", []string{`<http://h/a,b;c>; rel=type`}, []link{{"http://h/a,b;c", []string{"type"}}}},
		{"only the first rel counts", []string{`<a>; rel=acl; rel=type`}, []link{{"a", []string{"acl"}}}},
		{"escaped quote", []string{`<a>; title="say \"hi\", <b>"; rel=type`}, []link{{"a", []string{"type"}}}},
		{"parameter without a value", []string{`<a>; crossorigin; rel=type`}, []link{{"a", []string{"type"}}}},
		{"no rel", []string{`<a>; anchor="#x"`}, []link{{"a", nil}}},
		{"junk before a link is skipped", []string{`junk; rel=type, <a>; rel=type`}, []link{{"a", []string{"type"}}}},
		{"unterminated target", []string{`<a; rel=type`}, nil},
		{"empty", []string{"", " , "}, nil},
	} {
		if got := parseLinks(tc.vs); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: parseLinks(%q) = %v, want %v", tc.name, tc.vs, got, tc.want)
		}
	}
}

func TestIsContainerLink(t *testing.T) {
	for v, want := range map[string]bool{
		`<http://www.w3.org/ns/ldp#BasicContainer>; rel="type"`:                                                  true,
		`<http://www.w3.org/ns/ldp#Container>; rel=type`:                                                         true,
		`<http://www.w3.org/ns/ldp#Resource>; rel="type", <http://www.w3.org/ns/ldp#BasicContainer>; rel="type"`: true,
		`<http://www.w3.org/ns/ldp#BasicContainer>; rel="describedby"`:                                           false,
		`<http://www.w3.org/ns/ldp#Resource>; rel="type"`:                                                        false,
		`<http://www.w3.org/ns/ldp#BasicContainerX>; rel="type"`:                                                 false,
		`<x>; title="<http://www.w3.org/ns/ldp#BasicContainer>; rel=type"`:                                       false,
	} {
		req, _ := http.NewRequest("POST", "http://pod.test/alice/", nil)
		req.Header.Set("Link", v)
		if got := isContainerLink(req); got != want {
			t.Errorf("isContainerLink(%s) = %v, want %v", v, got, want)
		}
	}
}
