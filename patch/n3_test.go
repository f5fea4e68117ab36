package patch

import (
	"testing"
)

// n3Head declares the prefixes of the Solid Protocol's examples; it takes
// two lines, so a patch's own text starts on line 3.
const n3Head = "@prefix solid: <http://www.w3.org/ns/solid/terms#>.\n@prefix ex: <http://www.example.org/terms#>.\n"

const garcia = `<#claudia> ex:familyName "Garcia"; ex:givenName "Claudia".
<#bob> ex:familyName "Lee"; ex:givenName "Bob".`

// TestN3Spec runs the Solid Protocol's N3 Patch example and its rules.
func TestN3Spec(t *testing.T) {
	runCases(t, MediaN3, []patchCase{{
		name: "spec rename example",
		patch: n3Head + `
_:rename a solid:InsertDeletePatch;
  solid:where   { ?person ex:familyName "Garcia". };
  solid:inserts { ?person ex:givenName "Alex". };
  solid:deletes { ?person ex:givenName "Claudia". }.`,
		graph: garcia,
		want: `<#claudia> ex:familyName "Garcia"; ex:givenName "Alex".
<#bob> ex:familyName "Lee"; ex:givenName "Bob".`,
	}, {
		name:  "insert only, as solid-crud-tests send it",
		patch: "@prefix solid: <http://www.w3.org/ns/solid/terms#>.\n<#patch> a solid:InsertDeletePatch;\n solid:inserts { <#hello> <#linked> <#world> .}.\n",
		graph: ``,
		want:  `<#hello> <#linked> <#world>.`,
	}, {
		name:  "delete only",
		patch: n3Head + `<#patch> a solid:InsertDeletePatch; solid:deletes { <#bob> ex:givenName "Bob" }.`,
		graph: garcia,
		want:  `<#claudia> ex:familyName "Garcia"; ex:givenName "Claudia". <#bob> ex:familyName "Lee".`,
	}, {
		name:  "where only is a check that changes nothing",
		patch: n3Head + `[] a solid:InsertDeletePatch; solid:where { ?x ex:familyName "Lee" }.`,
		graph: garcia,
		want:  garcia,
	}, {
		name:  "no operations at all",
		patch: n3Head + `<#p> a solid:InsertDeletePatch.`,
		graph: garcia,
		want:  garcia,
	}, {
		name:  "empty formulae",
		patch: n3Head + `<#p> a solid:InsertDeletePatch; solid:where {}; solid:inserts { }; solid:deletes {}.`,
		graph: garcia,
		want:  garcia,
	}, {
		name: "where binds several variables, in every position",
		patch: n3Head + `<#p> a solid:InsertDeletePatch;
  solid:where { ?who ?prop "Lee". ?who ex:givenName ?name };
  solid:inserts { ?who ex:label ?name. ?who ?prop "Li" };
  solid:deletes { ?who ?prop "Lee" }.`,
		graph: garcia,
		want: `<#claudia> ex:familyName "Garcia"; ex:givenName "Claudia".
<#bob> ex:familyName "Li"; ex:givenName "Bob"; ex:label "Bob".`,
	}, {
		name:  "inserting a present triple keeps the graph a set",
		patch: n3Head + `<#p> a solid:InsertDeletePatch; solid:inserts { <#bob> ex:givenName "Bob". <#bob> ex:givenName "Bob" }.`,
		graph: garcia,
		want:  garcia,
	}, {
		name:  "delete and insert the same triple",
		patch: n3Head + `<#p> a solid:InsertDeletePatch; solid:deletes { <#bob> ex:givenName "Bob" }; solid:inserts { <#bob> ex:givenName "Bob" }.`,
		graph: garcia,
		want:  garcia,
	}, {
		name: "blank nodes in inserts are fresh and keep their identity within the formula",
		patch: n3Head + `<#p> a solid:InsertDeletePatch; solid:inserts {
  <#bob> ex:address _:a. _:a ex:city "Ghent".
  <#bob> ex:knows [ ex:name "Eve" ] }.`,
		graph: `<#bob> ex:knows _:a. _:a ex:name "Zed".`,
		want:  `<#bob> ex:knows _:z. _:z ex:name "Zed". <#bob> ex:address _:a. _:a ex:city "Ghent". <#bob> ex:knows [ ex:name "Eve" ].`,
	}, {
		name:  "where with no match is a conflict",
		patch: n3Head + "<#p> a solid:InsertDeletePatch;\n  solid:where { ?x ex:familyName \"Nobody\" }; solid:inserts { ?x ex:a ex:b }.",
		graph: garcia,
		// the position is that of the where formula
		applyErr: conflict(msgNoMatch, 4, 15),
	}, {
		name:     "where with two matches is a conflict",
		patch:    n3Head + `<#p> a solid:InsertDeletePatch; solid:where { ?x ex:familyName ?n }; solid:deletes { ?x ex:familyName ?n }.`,
		graph:    garcia,
		applyErr: conflict(msgManyMatches),
	}, {
		name:     "where on an empty resource is a conflict",
		patch:    n3Head + `<#p> a solid:InsertDeletePatch; solid:where { ?x ex:familyName ?n }.`,
		graph:    ``,
		applyErr: conflict(msgNoMatch),
	}, {
		name:     "deleting an absent triple is a conflict",
		patch:    n3Head + "<#p> a solid:InsertDeletePatch;\n solid:deletes { <#bob> ex:givenName \"Bob\".\n   <#bob> ex:givenName \"Robert\" }.",
		graph:    garcia,
		applyErr: conflict(msgDeleteAbsent, 5, 4),
	}, {
		name:     "an instantiated deletion that is absent is a conflict",
		patch:    n3Head + `<#p> a solid:InsertDeletePatch; solid:where { ?x ex:familyName "Lee" }; solid:deletes { ?x ex:givenName "Alice" }.`,
		graph:    garcia,
		applyErr: conflict(msgDeleteAbsent),
	}, {
		name:     "a variable bound to a literal cannot be a subject",
		patch:    n3Head + `<#p> a solid:InsertDeletePatch; solid:where { <#bob> ex:givenName ?n }; solid:inserts { ?n ex:is ex:name }.`,
		graph:    garcia,
		applyErr: conflict(msgInvalidTriple),
	}, {
		name:     "a failed patch changes nothing and says so",
		patch:    n3Head + `<#p> a solid:InsertDeletePatch; solid:inserts { <#x> <#y> <#z> }; solid:deletes { <#absent> <#y> <#z> }.`,
		graph:    garcia,
		applyErr: conflict(msgDeleteAbsent),
	}})
}

// TestN3Malformed covers the structural rules (422) and syntax errors.
func TestN3Malformed(t *testing.T) {
	ins := `solid:inserts { <#a> <#b> <#c> }`
	runCases(t, MediaN3, []patchCase{
		{name: "empty document", patch: ``, parseErr: malformed(msgNoPatch)},
		{name: "only prefixes", patch: n3Head, parseErr: malformed(msgNoPatch)},
		{name: "plain Turtle", patch: n3Head + `<#a> <#b> <#c>.`, parseErr: malformed(msgNoPatch)},
		{
			name:     "two patch resources",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch.\n<#q> a solid:InsertDeletePatch.",
			parseErr: malformed(msgManyPatches, 4, 1),
		},
		{
			name:     "an untyped second resource with a formula",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch.\n<#q> " + ins + ".",
			parseErr: malformed(msgManyPatches, 4, 1),
		},
		{
			name:     "not typed",
			patch:    n3Head + "<#p> " + ins + ".",
			parseErr: malformed(msgNotTyped, 3, 1),
		},
		{
			name:     "typed solid:Patch only",
			patch:    n3Head + "<#p> a solid:Patch; " + ins + ".",
			parseErr: malformed(msgNotTyped),
		},
		{
			name:     "two inserts",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch; " + ins + ";\n  " + ins + ".",
			parseErr: malformed("more than one solid:inserts", 4, 3),
		},
		{
			name:     "two wheres",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch; solid:where {}, {}.",
			parseErr: malformed("more than one solid:where"),
		},
		{
			name:     "two deletes",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch; solid:deletes {}. <#p> solid:deletes {}.",
			parseErr: malformed("more than one solid:deletes"),
		},
		{
			name:     "inserts not a formula",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch; solid:inserts <#x>.",
			parseErr: malformed("the object of solid:inserts must be a formula", 3, 47),
		},
		{
			name:     "formula under another predicate",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch; ex:other { <#a> <#b> <#c> }.",
			parseErr: malformed(msgStrayFormula, 3, 42),
		},
		{
			name:     "blank node in deletes",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch; solid:deletes { _:b <#b> <#c> }.",
			parseErr: malformed("blank nodes are not allowed in solid:deletes", 3, 49),
		},
		{
			name:     "anonymous blank node in where",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch; solid:where { [] <#b> ?c }.",
			parseErr: malformed("blank nodes are not allowed in solid:where"),
		},
		{
			name:     "variable in inserts not in where",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch; solid:where { ?a <#b> ?c }; solid:inserts { ?a <#b> ?d }.",
			parseErr: malformed("variable ?d does not occur in solid:where", 3, 85),
		},
		{
			name:     "variable in deletes without where",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch; solid:deletes { ?a <#b> <#c> }.",
			parseErr: malformed("variable ?a does not occur in solid:where"),
		},
		{
			name:     "variable outside formulae",
			patch:    n3Head + "?p a solid:InsertDeletePatch.",
			parseErr: malformed("variables are not allowed in the patch document outside formulae", 3, 1),
		},
		{
			name:     "nested formula",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch; solid:inserts { <#a> <#b> { <#c> <#d> <#e> } }.",
			parseErr: malformed(msgNestedFormula, 3, 59),
		},
		{
			name:     "formula as subject (an N3 rule)",
			patch:    n3Head + "{ ?a <#b> ?c } => { ?a <#d> ?c }.",
			parseErr: malformed(msgNotSupported+": formulae as subjects", 3, 1),
		},
		{
			name:     "N3 implication operator",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch; solid:inserts { <#a> => <#c> }.",
			parseErr: malformed(msgNotSupported + ": N3 =>"),
		},
		{
			name:     "N3 quantifier",
			patch:    n3Head + "@forAll <#x>.",
			parseErr: malformed(msgNotSupported + ": N3 @forAll"),
		},
		{
			name:     "missing final dot",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch",
			parseErr: malformed("expected '.', found end of input", 3, 31),
		},
		{
			name:     "unterminated formula",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch; solid:inserts { <#a> <#b> <#c> .",
			parseErr: malformed("unexpected end of input"),
		},
		{
			name:     "unterminated string",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch; solid:inserts { <#a> <#b> \"abc }.",
			parseErr: malformed(msgBadString, 3, 59),
		},
		{
			name:     "undefined prefix",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch; solid:inserts { <#a> foaf:name \"x\" }.",
			parseErr: malformed(`undefined prefix "foaf"`, 3, 54),
		},
		{
			name:     "bad IRI",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch; solid:inserts { <#a> <#b c> <#d> }.",
			parseErr: malformed(msgBadIRI, 3, 54),
		},
		{
			name:     "literal as predicate",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch; solid:inserts { <#a> \"b\" <#d> }.",
			parseErr: malformed("expected a predicate"),
		},
		{
			name:     "literal as subject",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch; solid:inserts { \"a\" <#b> <#d> }.",
			parseErr: malformed("unexpected string literal"),
		},
		{
			name:     "column counts characters, not bytes",
			patch:    n3Head + "<#p> a solid:InsertDeletePatch; solid:inserts { <#é> <#ü> \"ö\" § }.",
			parseErr: malformed(`unexpected character '§'`, 3, 63),
		},
		{
			name:     "CRLF line ends",
			patch:    "@prefix solid: <http://www.w3.org/ns/solid/terms#>.\r\n<#p> a solid:InsertDeletePatch;\r\n  solid:inserts { <#a> <#b> ^ }.",
			parseErr: malformed("expected a term, found '^'", 3, 29),
		},
	})
}

// TestN3Syntax checks the Turtle term syntax inside formulae.
func TestN3Syntax(t *testing.T) {
	runCases(t, MediaN3, []patchCase{{
		name: "full Turtle term syntax in inserts",
		patch: `PREFIX solid: <http://www.w3.org/ns/solid/terms#>
@base <http://pod.example/bob/> .
prefix ex: <http://www.example.org/terms#>
@prefix : <#> .
<#p> a solid:InsertDeletePatch; solid:inserts {
  :me a ex:Person, ex:Agent;
    ex:name "Bob"@en-GB, 'Robert', """multi
line""", '''it's''';
    ex:age 42; ex:height 1.85; ex:mass -7.5e1; ex:alive true; ex:dead false;
    ex:code "x"^^ex:type, "\u00e9\t\"q\""^^<http://www.w3.org/2001/XMLSchema#string>;
    ex:friend <../alice/card#me>, :you;
    ex:list (1 "two" :three), ().
  :local\.name ex:p ex:o%20x .
}.`,
		graph: ``,
		want: `@prefix xsd: <http://www.w3.org/2001/XMLSchema#>.
<http://pod.example/bob/#me> a ex:Person, ex:Agent;
    ex:name "Bob"@en-GB, "Robert", "multi\nline", "it's";
    ex:age 42; ex:height 1.85; ex:mass -7.5e1; ex:alive true; ex:dead false;
    ex:code "x"^^ex:type, "é\t\"q\"";
    ex:friend <http://pod.example/alice/card#me>, <http://pod.example/bob/#you>;
    ex:list (1 "two" <http://pod.example/bob/#three>), ().
<http://pod.example/bob/#local.name> ex:p <http://www.example.org/terms#o%20x>.`,
	}, {
		name:  "relative IRIs resolve against the resource URL",
		patch: n3Head + `<#p> a solid:InsertDeletePatch; solid:inserts { <> <#x> <other>, <../bob/>, <?q>, </root> }.`,
		graph: ``,
		want: `<http://pod.example/alice/doc> <http://pod.example/alice/doc#x>
  <http://pod.example/alice/other>, <http://pod.example/bob/>, <http://pod.example/alice/doc?q>, <http://pod.example/root>.`,
	}, {
		name: "comments and odd spacing",
		patch: `# a comment
@prefix solid:<http://www.w3.org/ns/solid/terms#>.#another
<#p>a solid:InsertDeletePatch;solid:inserts{<#a><#b>"c"@en;<#d>1.}.`,
		graph: ``,
		want:  `<#a> <#b> "c"@en; <#d> 1.`,
	}, {
		name: "numbers and literals match exactly as written",
		patch: n3Head + `<#p> a solid:InsertDeletePatch; solid:where { ?x ex:age 42 };
  solid:deletes { ?x ex:age 42 }; solid:inserts { ?x ex:age 43 }.`,
		graph: `<#bob> ex:age 42. <#eve> ex:age "42". <#joe> ex:age 42.0.`,
		want:  `<#bob> ex:age 43. <#eve> ex:age "42". <#joe> ex:age 42.0.`,
	}, {
		name:  "language tags are part of the literal",
		patch: n3Head + `<#p> a solid:InsertDeletePatch; solid:deletes { <#bob> ex:name "Bob"@en }.`,
		graph: `<#bob> ex:name "Bob"@en, "Bob".`,
		want:  `<#bob> ex:name "Bob".`,
	}, {
		name:  "other statements about the patch are ignored",
		patch: n3Head + `<#p> a solid:InsertDeletePatch; solid:patches <>; ex:comment "hi"; solid:inserts { <#a> <#b> <#c> }. <#x> <#y> <#z>.`,
		graph: ``,
		want:  `<#a> <#b> <#c>.`,
	}})
}
