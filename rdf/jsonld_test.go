package rdf

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
)

const schemaNS = "https://schema.org/"

// nq is a test helper building quads concisely.
func q(s, p, o Term) Quad { return Quad{S: s, P: p, O: o} }

func TestParseJSONLDEvent(t *testing.T) {
	doc := `{"topic":"a/b#c","recipient":"https://x/profile/card#me","data":{"type":"AddAction"}}`
	got, err := ParseJSONLD([]byte(doc), "https://pod.example/publish/1")
	if err != nil {
		t.Fatal(err)
	}
	want := []Quad{
		q(Blank("e"), IRI(PodVocab+"topic"), Literal("a/b#c", "")),
		q(Blank("e"), IRI(PodVocab+"recipient"), IRI("https://x/profile/card#me")),
		q(Blank("e"), IRI(PodVocab+"data"), Blank("d")),
		q(Blank("d"), IRI(RDFType), IRI(schemaNS+"AddAction")),
	}
	if !Isomorphic(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

func TestParseJSONLDFullEvent(t *testing.T) {
	doc := `{
  "id": "https://alice.example/publish/42",
  "topic": "realestate/contact#add",
  "recipient": "https://bob.example/profile/card#me",
  "source": "https://carol.example/profile/card#me",
  "agent": "https://alice.example/profile/card#me",
  "instrument": "crm-app",
  "timestamp": "2024-01-02T03:04:05Z",
  "received_at": "2024-01-02T03:04:06Z",
  "correlationId": "c-1",
  "data": {"type": "AddAction", "object": {"type": "Contact", "name": "Bruce Wayne"}}
}`
	got, err := ParseJSONLD([]byte(doc), "https://alice.example/publish/")
	if err != nil {
		t.Fatal(err)
	}
	ev := IRI("https://alice.example/publish/42")
	want := []Quad{
		q(ev, IRI(PodVocab+"topic"), Literal("realestate/contact#add", "")),
		q(ev, IRI(PodVocab+"recipient"), IRI("https://bob.example/profile/card#me")),
		q(ev, IRI(PodVocab+"source"), IRI("https://carol.example/profile/card#me")),
		q(ev, IRI(schemaNS+"agent"), IRI("https://alice.example/profile/card#me")),
		q(ev, IRI(schemaNS+"instrument"), Literal("crm-app", "")),
		q(ev, IRI(PodVocab+"timestamp"), Literal("2024-01-02T03:04:05Z", "http://www.w3.org/2001/XMLSchema#dateTime")),
		q(ev, IRI(PodVocab+"receivedAt"), Literal("2024-01-02T03:04:06Z", "http://www.w3.org/2001/XMLSchema#dateTime")),
		q(ev, IRI(PodVocab+"correlationId"), Literal("c-1", "")),
		q(ev, IRI(PodVocab+"data"), Blank("d")),
		q(Blank("d"), IRI(RDFType), IRI(schemaNS+"AddAction")),
		q(Blank("d"), IRI(schemaNS+"object"), Blank("c")),
		q(Blank("c"), IRI(RDFType), IRI(schemaNS+"Contact")),
		q(Blank("c"), IRI(schemaNS+"name"), Literal("Bruce Wayne", "")),
	}
	if !Isomorphic(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

func TestParseJSONLDListingAndSettings(t *testing.T) {
	listing := `{"@context": "https://w3id.org/podserver/v1", "id": "https://p.example/inbox/",
  "type": ["ldp:Container", "ldp:BasicContainer"],
  "contains": ["https://p.example/inbox/1", {"id": "https://p.example/inbox/2", "topic": "t/x"}]}`
	got, err := ParseJSONLD([]byte(listing), "")
	if err != nil {
		t.Fatal(err)
	}
	inbox := IRI("https://p.example/inbox/")
	ldp := "http://www.w3.org/ns/ldp#"
	want := []Quad{
		q(inbox, IRI(RDFType), IRI(ldp+"Container")),
		q(inbox, IRI(RDFType), IRI(ldp+"BasicContainer")),
		q(inbox, IRI(ldp+"contains"), IRI("https://p.example/inbox/1")),
		q(inbox, IRI(ldp+"contains"), IRI("https://p.example/inbox/2")),
		q(IRI("https://p.example/inbox/2"), IRI(PodVocab+"topic"), Literal("t/x", "")),
	}
	if !Isomorphic(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}

	settings := `{"version": "1", "items": [{"type": "Subscription",
  "agent": "https://producer.example/profile/card#me", "publishes": ["realestate/contact"]}]}`
	got, err = ParseJSONLD([]byte(settings), "https://p.example/settings/subscriptions")
	if err != nil {
		t.Fatal(err)
	}
	want = []Quad{
		q(Blank("s"), IRI(PodVocab+"version"), Literal("1", "")),
		q(Blank("s"), IRI(PodVocab+"items"), Blank("i")),
		q(Blank("i"), IRI(RDFType), IRI(PodVocab+"Subscription")),
		q(Blank("i"), IRI(schemaNS+"agent"), IRI("https://producer.example/profile/card#me")),
		q(Blank("i"), IRI(PodVocab+"publishes"), Literal("realestate/contact", "")),
	}
	if !Isomorphic(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

func TestParseJSONLDKnownContexts(t *testing.T) {
	for _, ctx := range []string{
		"https://www.w3.org/ns/activitystreams",
		"http://www.w3.org/ns/activitystreams",
		"https://www.w3.org/ns/activitystreams.jsonld",
		"https://www.w3.org/ns/solid/notification/v1",
		"https://w3id.org/podserver/v1/",
		"http://w3id.org/podserver/v1",
	} {
		doc := `{"@context": "` + ctx + `", "id": "https://x.example/n", "type": "Update", "object": "https://x.example/r"}`
		got, err := ParseJSONLD([]byte(doc), "")
		if err != nil {
			t.Errorf("%s: %v", ctx, err)
			continue
		}
		if len(got) != 2 {
			t.Errorf("%s: got %d quads %v, want 2", ctx, len(got), got)
		}
	}

	notif := `{"@context": ["https://www.w3.org/ns/solid/notification/v1"],
  "id": "https://chan.example/1", "type": "WebSocketChannel2023",
  "topic": "https://pod.example/inbox/", "receiveFrom": "wss://chan.example/ws",
  "startAt": "2024-01-01T00:00:00Z", "rate": "PT10S", "state": "abc"}`
	got, err := ParseJSONLD([]byte(notif), "")
	if err != nil {
		t.Fatal(err)
	}
	const notify = "http://www.w3.org/ns/solid/notifications#"
	ch := IRI("https://chan.example/1")
	want := []Quad{
		q(ch, IRI(RDFType), IRI(notify+"WebSocketChannel2023")),
		q(ch, IRI(notify+"topic"), IRI("https://pod.example/inbox/")),
		q(ch, IRI(notify+"receiveFrom"), IRI("wss://chan.example/ws")),
		q(ch, IRI(notify+"startAt"), Literal("2024-01-01T00:00:00Z", "http://www.w3.org/2001/XMLSchema#dateTime")),
		q(ch, IRI(notify+"rate"), Literal("PT10S", "http://www.w3.org/2001/XMLSchema#duration")),
		q(ch, IRI(notify+"state"), Literal("abc", "")),
	}
	if !Isomorphic(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

func TestJSONLDUnknownContext(t *testing.T) {
	for _, doc := range []string{
		`{"@context": "https://evil.example/ctx", "name": "x"}`,
		`{"@context": {"@import": "https://evil.example/ctx"}, "name": "x"}`,
		`[{"@context": ["https://w3id.org/podserver/v1", "http://vocab.example/"], "name": "x"}]`,
	} {
		for name, run := range map[string]func() error{
			"parse":  func() error { _, err := ParseJSONLD([]byte(doc), ""); return err },
			"expand": func() error { return ExpandJSONLD([]byte(doc), "") },
		} {
			err := run()
			var uc *UnknownContextError
			var je *JSONLDError
			if !errors.As(err, &uc) || !errors.As(err, &je) {
				t.Fatalf("%s %s: err = %v, want an unknown context error", name, doc, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "unknown remote context "+uc.URL+": this server loads no remote contexts; only these contexts can be used: ") ||
				!strings.Contains(msg, ContextURI) || !strings.Contains(msg, "https://schema.org/") || strings.Contains(msg, "dereferencing") {
				t.Errorf("%s: unclear message %q", name, msg)
			}
		}
	}
}

func TestDocumentLoader(t *testing.T) {
	l := NewDocumentLoader()
	rd, err := l.LoadDocument("https://w3id.org/podserver/v1")
	if err != nil {
		t.Fatal(err)
	}
	// Changing a loaded document must not change the next one.
	rd.Document.(map[string]any)["@context"].(map[string]any)["topic"] = "http://bad/"
	rd2, _ := l.LoadDocument("https://w3id.org/podserver/v1")
	if _, ok := rd2.Document.(map[string]any)["@context"].(map[string]any)["topic"].(map[string]any); !ok {
		t.Fatal("loaded documents share state")
	}
	if _, err := l.LoadDocument("https://example.org/other"); err == nil {
		t.Fatal("unknown document loaded")
	}
	var doc map[string]any
	if err := json.Unmarshal(ContextDocument(), &doc); err != nil {
		t.Fatal(err)
	}
}

func TestJSONLDMalformed(t *testing.T) {
	tests := []struct{ doc, want string }{
		{`{"a": 1,}`, "invalid JSON at line 1, column 9 (byte offset 9)"},
		{"{\n  \"a\": tru\n}", "invalid JSON at line 2, column 11"},
		{`{"a": 1} x`, "after top-level value"},
		{``, "unexpected end of JSON input"},
		{`{"a": "b"`, "unexpected end of JSON input"},
		{`"just a string"`, "must be a JSON object or array, not a string"},
		{`42`, "not a number"},
		{`null`, "not null"},
		{`{"@id": 5}`, "invalid @id value"},
		{`{"@context": 5}`, "invalid local context"},
	}
	for _, tc := range tests {
		_, err := ParseJSONLD([]byte(tc.doc), "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseJSONLD(%q) = %v, want an error containing %q", tc.doc, err, tc.want)
		}
		err2 := ExpandJSONLD([]byte(tc.doc), "")
		var je *JSONLDError
		if !errors.As(err, &je) || !errors.As(err2, &je) {
			t.Errorf("%q: errors are not *JSONLDError: %v / %v", tc.doc, err, err2)
		}
	}
	if err := ExpandJSONLD([]byte(`{"topic": "a/b", "data": {"type": "AddAction"}}`), ""); err != nil {
		t.Errorf("valid event: %v", err)
	}
}

func jsonldRoundTrip(t *testing.T, quads []Quad, base string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJSONLD(&buf, quads, base); err != nil {
		t.Fatal(err)
	}
	back, err := ParseJSONLD(buf.Bytes(), base)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, buf.Bytes())
	}
	if !Isomorphic(quads, back) {
		t.Fatalf("round trip differs:\n%s\nin:  %v\nout: %v", buf.Bytes(), quads, back)
	}
	return buf.Bytes()
}

func TestJSONLDRoundTrip(t *testing.T) {
	const ex = "http://example.org/"
	s := IRI(ex + "s")
	quads := []Quad{
		q(s, IRI(RDFType), IRI(ex+"T")),
		q(s, IRI(ex+"p"), Literal("plain", "")),
		q(s, IRI(ex+"p"), LangLiteral("chat", "fr")),
		q(s, IRI(ex+"n"), Literal("42", XSDInteger)),
		q(s, IRI(ex+"n"), Literal("042", XSDInteger)),
		q(s, IRI(ex+"n"), Literal("-0", XSDInteger)),
		q(s, IRI(ex+"n"), Literal("99999999999999999999", XSDInteger)),
		q(s, IRI(ex+"d"), Literal("1.50", XSDDecimal)),
		q(s, IRI(ex+"d"), Literal("1e3", XSDDouble)),
		q(s, IRI(ex+"b"), Literal("true", XSDBoolean)),
		q(s, IRI(ex+"b"), Literal("1", XSDBoolean)),
		q(s, IRI(ex+"esc"), Literal("quote \" back \\ nl \n tab \t nul \x00 <&>", "")),
		q(s, IRI(ex+"x"), Blank("a")),
		q(Blank("a"), IRI(ex+"y"), Blank("b")),
		q(Blank("b"), IRI(ex+"y"), Blank("a")),
		q(s, IRI(ex+"list"), Blank("l1")),
		q(Blank("l1"), IRI(RDFFirst), Literal("1", XSDInteger)),
		q(Blank("l1"), IRI(RDFRest), Blank("l2")),
		q(Blank("l2"), IRI(RDFFirst), IRI(ex+"o")),
		q(Blank("l2"), IRI(RDFRest), IRI(RDFNil)),
		q(s, IRI(ex+"empty"), IRI(RDFNil)),
		{S: s, P: IRI(ex + "p"), O: Literal("in g", ""), G: IRI(ex + "g")},
		{S: Blank("a"), P: IRI(ex + "p"), O: Literal("in bg", ""), G: Blank("g")},
		q(IRI("https://p.example/inbox/"), IRI("http://www.w3.org/ns/ldp#contains"), IRI("https://p.example/inbox/1")),
		q(IRI("https://p.example/e"), IRI(PodVocab+"topic"), Literal("a/b#c", "")),
		q(IRI("https://p.example/e"), IRI(PodVocab+"timestamp"), Literal("2024-01-02T03:04:05Z", "http://www.w3.org/2001/XMLSchema#dateTime")),
		q(IRI("https://p.example/e"), IRI(schemaNS+"name"), Literal("Bruce", "")),
	}
	out := jsonldRoundTrip(t, quads, "")
	if !bytes.HasPrefix(out, []byte("{\n  \"@context\": \"https://w3id.org/podserver/v1\",\n")) {
		t.Errorf("output does not start with our context:\n%s", out)
	}
	for _, want := range []string{`"contains": [`, `"topic": "a/b#c"`, `"name": "Bruce"`, `"http://example.org/n": [`, "42,", "        true\n"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	jsonldRoundTrip(t, quads, "http://example.org/base/doc")
	jsonldRoundTrip(t, nil, "")
}

func TestJSONLDEventRoundTrip(t *testing.T) {
	doc := `{"id": "https://alice.example/publish/42", "topic": "realestate/contact#add",
  "recipient": "https://bob.example/profile/card#me", "agent": "https://alice.example/profile/card#me",
  "data": {"type": "AddAction", "object": {"type": "Contact", "name": "Bruce Wayne"}}}`
	quads, err := ParseJSONLD([]byte(doc), "https://alice.example/publish/")
	if err != nil {
		t.Fatal(err)
	}
	out := jsonldRoundTrip(t, quads, "https://alice.example/publish/")
	for _, want := range []string{"{\n  \"@context\": \"https://w3id.org/podserver/v1\",\n  \"id\": \"https://alice.example/publish/42\",\n", "\"data\": {\n    \"type\": \"AddAction\",\n    \"object\": {", `"recipient": "https://bob.example/profile/card#me"`, `"type": "AddAction"`, `"name": "Bruce Wayne"`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}

// TestJSONLDConcurrent runs the JSON-LD functions from many goroutines, so
// that -race checks the shared loader and processed context.
func TestJSONLDConcurrent(t *testing.T) {
	docs := []string{
		`{"topic": "a/b", "data": {"type": "AddAction", "object": {"name": "x"}}}`,
		`{"@context": {"@import": "https://w3id.org/podserver/v1", "extra": "http://ex/extra"}, "extra": 1, "topic": "t"}`,
		`[{"@context": "https://www.w3.org/ns/activitystreams", "type": "Create", "actor": "https://a.example/"}]`,
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				doc := []byte(docs[(i+j)%len(docs)])
				base := "https://pod" + itoa(i) + ".example/publish/"
				if err := ExpandJSONLD(doc, base); err != nil {
					t.Error(err)
					return
				}
				quads, err := ParseJSONLD(doc, base)
				if err != nil {
					t.Error(err)
					return
				}
				var buf bytes.Buffer
				if err := WriteJSONLD(&buf, quads, base); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestWriteJSONLDHeadlessList covers a json-gold bug (found by FuzzJSONLD):
// a blank node with rdf:rest but no rdf:first made its fromRDF panic.
func TestWriteJSONLDHeadlessList(t *testing.T) {
	quads := []Quad{
		q(IRI("http://ex/s"), IRI("http://ex/p"), Blank("a")),
		q(Blank("a"), IRI(RDFRest), IRI(RDFNil)),
		q(IRI("http://ex/s"), IRI("http://ex/p"), Blank("l")),
		q(Blank("l"), IRI(RDFFirst), Literal("1", XSDInteger)),
		q(Blank("l"), IRI(RDFRest), Blank("m")),
		q(Blank("m"), IRI(RDFRest), IRI(RDFNil)),
		q(IRI("http://ex/s"), IRI(PodVocab+"restWithoutFirst"), Literal("clash", "")),
	}
	jsonldRoundTrip(t, quads, "")
}
