package patch

import (
	"fmt"
	"strings"
	"testing"
)

// TestPrefixExpansionLimit: the hostile review's patch, a 100 KB prefix
// used by hundreds of names in INSERT DATA (a 106 KB body stored 90 MB),
// is refused while it is parsed, in SPARQL Update and N3 alike.
func TestPrefixExpansionLimit(t *testing.T) {
	ns := "http://ex.org/" + strings.Repeat("a", 100_000) + "#"
	var sparql, n3 strings.Builder
	fmt.Fprintf(&sparql, "PREFIX p: <%s>\nINSERT DATA {\n", ns)
	fmt.Fprintf(&n3, "@prefix p: <%s>.\n@prefix solid: <http://www.w3.org/ns/solid/terms#>.\n_:x a solid:InsertDeletePatch; solid:inserts {\n", ns)
	for i := range 250 {
		fmt.Fprintf(&sparql, "p:s%d p:p p:o%d .\n", i, i)
		fmt.Fprintf(&n3, "p:s%d p:p p:o%d .\n", i, i)
	}
	sparql.WriteString("}")
	n3.WriteString("}.")
	for _, c := range []struct{ mt, body string }{{MediaSPARQLUpdate, sparql.String()}, {MediaN3, n3.String()}} {
		t.Run(c.mt, func(t *testing.T) {
			_, err := Parse(c.mt, []byte(c.body), "https://pod.example/r")
			if err == nil || !strings.Contains(err.Error(), "expansion limit") {
				t.Fatalf("Parse: %v, want an error naming the expansion limit", err)
			}
			short := strings.ReplaceAll(c.body, ns, "http://ex.org/#")
			if _, err := Parse(c.mt, []byte(short), "https://pod.example/r"); err != nil {
				t.Fatalf("the same patch with a short prefix: %v", err)
			}
		})
	}
}
