package podurl

import (
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"alice": true, "a": true, "0": true, "bob-2": true, strings.Repeat("a", 63): true,
		"": false, strings.Repeat("a", 64): false, "-a": false, "Alice": false, "a_b": false, "a.b": false,
		"a/b": false, "é": false, "metrics": false, "console": false, "healthz": false, "admin": false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
	if !Reserved("ns") || Reserved("alice") {
		t.Error("Reserved")
	}
}

func FuzzValidName(f *testing.F) {
	for _, s := range []string{"alice", "-x", "metrics", "a-", strings.Repeat("z", 63)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if !ValidName(name) {
			return
		}
		// A valid name is one DNS label and one path segment as it is.
		if len(name) > MaxNameLen || strings.ContainsAny(name, "/.%?#_ ") || strings.ToLower(name) != name || Reserved(name) {
			t.Fatalf("ValidName(%q) accepted", name)
		}
	})
}
