package patch

import (
	"strings"
	"testing"
)

// lex returns the tokens of src as "kind:val" strings (pnames as
// "pname:prefix|local").
func lex(t *testing.T, src string, sparql bool) []string {
	t.Helper()
	l := newLexer(src, sparql)
	var out []string
	for {
		tok, err := l.next()
		if err != nil {
			t.Fatalf("lex %q: %v", src, err)
		}
		if tok.kind == tEOF {
			return out
		}
		name := [...]string{"eof", "iri", "pname", "blank", "var", "str", "lang", "int", "dec", "dbl", "word", "punct"}[tok.kind]
		v := tok.val
		if tok.kind == tPName {
			v += "|" + tok.local
		}
		out = append(out, name+":"+v)
	}
}

func TestLexer(t *testing.T) {
	for _, tc := range []struct {
		src    string
		sparql bool
		want   string
	}{
		{"1 +2 -3 1.5 .5 -.5e3 1e3 1.e3 1E-2", false, "int:1 int:+2 int:-3 dec:1.5 dec:.5 dbl:-.5e3 dbl:1e3 dbl:1.e3 dbl:1E-2"},
		{"<a> <b> 1.", false, "iri:a iri:b int:1 punct:."},
		{"1.x", false, "int:1 punct:. word:x"},
		{"+ - . ^ ^^ = => <= | / ! * ;,", false, "punct:+ punct:- punct:. punct:^ punct:^^ punct:= punct:=> punct:<= punct:| punct:/ punct:! punct:* punct:; punct:,"},
		{`"a\tb" 'c"d' """e"f""" '''g
h''' "\u00E9\U0001F600"`, false, "str:a\tb str:c\"d str:e\"f str:g\nh str:é😀"},
		{`"""a""""`, false, `str:a str:`}, // wait: see below
		{"@prefix @en-GB @de-1996-x", false, "lang:prefix lang:en-GB lang:de-1996-x"},
		{"ex:a :b ex: ex:a.b. ex:a\\.b ex:%20x ex:1a ex:a:b ex.x:y", false,
			"pname:ex|a pname:|b pname:ex| pname:ex|a.b punct:. pname:ex|a.b pname:ex|%20x pname:ex|1a pname:ex|a:b pname:ex.x|y"},
		{"_:b1 _:a.b. _:x-y", false, "blank:b1 blank:a.b punct:. blank:x-y"},
		{"?x ?Ä1 ? $y", true, "var:x var:Ä1 punct:? var:y"},
		{"a true PREFIX INSERT", true, "word:a word:true word:PREFIX word:INSERT"},
		{"<\\u0041b> <x#y>", false, "iri:Ab iri:x#y"},
		{"# comment\n<a># c2\r\n<b>", false, "iri:a iri:b"},
		{"x.", false, "word:x punct:."},
		{"< x", true, "punct:< word:x"},
	} {
		if strings.HasPrefix(tc.src, `"""a""""`) {
			// """a""" followed by the start of an unterminated string
			l := newLexer(tc.src, false)
			if tok, err := l.next(); err != nil || tok.val != "a" {
				t.Errorf("long string: %v %v", tok, err)
			}
			if _, err := l.next(); err == nil {
				t.Errorf("stray quote: no error")
			}
			continue
		}
		if got := strings.Join(lex(t, tc.src, tc.sparql), " "); got != tc.want {
			t.Errorf("lex %q\n got %s\nwant %s", tc.src, got, tc.want)
		}
	}
}

func TestLexerErrors(t *testing.T) {
	for _, tc := range []struct {
		src       string
		sparql    bool
		line, col int
	}{
		{"<a b>", false, 1, 1},
		{`"abc`, false, 1, 1},
		{"'''abc''", false, 1, 1},
		{"\n  \"a\\x\"", false, 2, 5},
		{"\"\\u12\"", false, 1, 2},
		{"<\\uDFFF>", false, 1, 2},
		{"_:", false, 1, 3},
		{"_:-a", false, 1, 3},
		{"$x", false, 1, 1},
		{"$", true, 1, 2},
		{"@", false, 1, 2},
		{"@1", false, 1, 2},
		{"ex:a%2", false, 1, 5},
		{"ex:a\\q", false, 1, 5},
		{"é", false, 1, 1}, // é is PN_CHARS_BASE: a word, no error
		{"a\n\r\nb §", false, 3, 3},
		{"~", false, 1, 1},
	} {
		l := newLexer(tc.src, tc.sparql)
		var err error
		for err == nil {
			var tok token
			if tok, err = l.next(); tok.kind == tEOF {
				break
			}
		}
		if tc.src == "é" {
			if err != nil {
				t.Errorf("lex %q: %v", tc.src, err)
			}
			continue
		}
		e, ok := err.(*Error)
		if !ok || e.Kind != Malformed || e.Line != tc.line || e.Col != tc.col {
			t.Errorf("lex %q: err = %v, want Malformed at %d:%d", tc.src, err, tc.line, tc.col)
		}
	}
}

func TestTokenString(t *testing.T) {
	long := strings.Repeat("é", 50)
	for _, tc := range []struct {
		tok  token
		want string
	}{
		{token{kind: tEOF}, "end of input"},
		{token{kind: tIRI, val: "x"}, "<x>"},
		{token{kind: tPName, val: "ex", local: "a"}, "ex:a"},
		{token{kind: tBlank, val: "b"}, "_:b"},
		{token{kind: tVar, val: "v"}, "?v"},
		{token{kind: tString, val: "s"}, "string literal"},
		{token{kind: tLang, val: "en"}, "@en"},
		{token{kind: tPunct, val: "{"}, "'{'"},
		{token{kind: tWord, val: "INSERT"}, "INSERT"},
		{token{kind: tIRI, val: long}, "<" + strings.Repeat("é", 20) + "...>"},
	} {
		if got := tc.tok.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}
