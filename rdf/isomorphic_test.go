package rdf

import (
	"math/rand/v2"
	"testing"
)

// cycle returns blank nodes prefix0..prefixN-1 linked in a ring by p.
func cycle(prefix string, n int) []Quad {
	var out []Quad
	p := IRI("http://ex/p")
	for i := range n {
		out = append(out, Quad{S: Blank(prefix + itoa(i)), P: p, O: Blank(prefix + itoa((i+1)%n))})
	}
	return out
}

func TestIsomorphic(t *testing.T) {
	ex := func(s string) Term { return IRI("http://ex/" + s) }
	base := []Quad{
		{S: ex("s"), P: ex("p"), O: Blank("a")},
		{S: Blank("a"), P: ex("q"), O: Literal("x", "")},
		{S: Blank("a"), P: ex("r"), O: Blank("b")},
		{S: Blank("b"), P: ex("q"), O: LangLiteral("y", "en-GB")},
		{S: Blank("b"), P: ex("p"), O: ex("o"), G: Blank("g")},
	}
	relabelled := []Quad{
		{S: Blank("z2"), P: ex("p"), O: ex("o"), G: Blank("z9")},
		{S: Blank("z1"), P: ex("r"), O: Blank("z2")},
		{S: Blank("z2"), P: ex("q"), O: LangLiteral("y", "en-gb")},
		{S: ex("s"), P: ex("p"), O: Blank("z1")},
		{S: Blank("z1"), P: ex("q"), O: Literal("x", "")},
		{S: Blank("z1"), P: ex("q"), O: Literal("x", "")}, // duplicate
	}
	tests := []struct {
		name string
		a, b []Quad
		want bool
	}{
		{"empty", nil, nil, true},
		{"relabelled", base, relabelled, true},
		{"different literal", base, append(relabelled[:4:4], Quad{S: Blank("z1"), P: ex("q"), O: Literal("X", "")}), false},
		{"ground differs", []Quad{{S: ex("a"), P: ex("p"), O: ex("b")}}, []Quad{{S: ex("a"), P: ex("p"), O: ex("c")}}, false},
		{"blank vs IRI", []Quad{{S: ex("a"), P: ex("p"), O: Blank("b")}}, []Quad{{S: ex("a"), P: ex("p"), O: ex("b")}}, false},
		{"graph name matters", []Quad{{S: ex("a"), P: ex("p"), O: ex("b"), G: ex("g")}}, []Quad{{S: ex("a"), P: ex("p"), O: ex("b")}}, false},
		{"hexagon vs two triangles", cycle("h", 6), append(cycle("t", 3), cycle("u", 3)...), false},
		{"two triangles", append(cycle("t", 3), cycle("u", 3)...), append(cycle("x", 3), cycle("y", 3)...), true},
		{"ring of 8 rotated", cycle("a", 8), cycle("b", 8), true},
	}
	for _, tc := range tests {
		if got := Isomorphic(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: Isomorphic = %v, want %v", tc.name, got, tc.want)
		}
		if got := Isomorphic(tc.b, tc.a); got != tc.want {
			t.Errorf("%s (swapped): Isomorphic = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestIsomorphicShuffled checks a regular graph (every node looks alike, so
// colouring alone cannot decide) under random relabelling and order.
func TestIsomorphicShuffled(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := IRI("http://ex/p")
	// A 3x3 torus grid: all nodes have the same neighbourhood.
	var grid []Quad
	node := func(prefix string, i, j int) Term { return Blank(prefix + itoa((i%3)*3+j%3)) }
	for i := range 3 {
		for j := range 3 {
			grid = append(grid, Quad{S: node("n", i, j), P: p, O: node("n", i+1, j)})
			grid = append(grid, Quad{S: node("n", i, j), P: p, O: node("n", i, j+1)})
		}
	}
	for range 20 {
		perm := rng.Perm(9)
		other := make([]Quad, len(grid))
		for k, q := range grid {
			s := Blank("m" + itoa(perm[atoi(q.S.Value[1:])]))
			o := Blank("m" + itoa(perm[atoi(q.O.Value[1:])]))
			other[k] = Quad{S: s, P: p, O: o}
		}
		rng.Shuffle(len(other), func(i, j int) { other[i], other[j] = other[j], other[i] })
		if !Isomorphic(grid, other) {
			t.Fatal("relabelled torus not isomorphic")
		}
		broken := append([]Quad(nil), other...)
		broken[0].O, broken[1].O = broken[1].O, broken[0].O
		if Isomorphic(grid, broken) && !sameSet(other, broken) {
			t.Fatal("rewired torus reported isomorphic")
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func sameSet(a, b []Quad) bool {
	m := map[Quad]int{}
	for _, q := range a {
		m[q]++
	}
	for _, q := range b {
		m[q]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}
