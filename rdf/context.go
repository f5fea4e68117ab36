package rdf

import (
	_ "embed" // the JSON-LD context documents are built into the binary
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/piprate/json-gold/ld"
)

// JSON-LD context URIs the document loader knows. No other remote context can
// be used: the loader never touches the network.
const (
	// ContextURI names podserver's own vocabulary context. It maps the plain
	// JSON field names of events, subscriptions and inbox listings to IRIs,
	// so Yodata-style JSON is valid JSON-LD as is. Its document is
	// ContextDocument.
	//
	// Term choices (pod: is https://w3id.org/podserver/ns#):
	//   - id, type: aliases of @id and @type.
	//   - @vocab is https://schema.org/, as in Yodata, so event payloads such
	//     as {"type":"AddAction","object":{"type":"Contact","name":"Bruce
	//     Wayne"}} expand to schema.org terms. Our own fields therefore all
	//     have explicit definitions and never fall through to @vocab.
	//   - topic, data, correlationId, causationId, delay, version, secret,
	//     next (an opaque cursor): pod: terms, plain values.
	//   - recipient, source, target: pod: terms whose string values are IRIs.
	//   - received_at (pod:receivedAt), timestamp, deliverAt: xsd:dateTime.
	//   - agent: schema:agent, an IRI (the WebID of the agent that acted);
	//     instrument: schema:instrument, a plain value (the app's name).
	//     schema.org's Action properties fit an event whose data is an Action.
	//   - items, publishes, subscribes: pod: terms, sets;
	//     Subscription is pod:Subscription.
	//   - contains: ldp:contains, a set of IRIs (or embedded nodes);
	//     inbox: ldp:inbox; storage: pim:storage; owner: solid:owner (IRIs).
	//   - prefixes: pod, ldp, solid, pim, foaf, acl, as, xsd, dcterms, rdf,
	//     rdfs, vcard, schema.
	ContextURI = "https://w3id.org/podserver/v1"

	// PodVocab is the namespace of podserver's own terms.
	PodVocab = "https://w3id.org/podserver/ns#"

	// ActivityStreamsContextURI is the ActivityStreams 2.0 context. The
	// loader serves a minimal document of ours covering its common terms.
	ActivityStreamsContextURI = "https://www.w3.org/ns/activitystreams"

	// NotificationContextURI is the Solid Notifications Protocol context. The
	// loader serves a minimal document of ours covering its terms.
	NotificationContextURI = "https://www.w3.org/ns/solid/notification/v1"
)

//go:embed contexts/podserver-v1.jsonld
var podserverContextDoc string

//go:embed contexts/activitystreams.jsonld
var activityStreamsContextDoc string

//go:embed contexts/solid-notification-v1.jsonld
var notificationContextDoc string

// ContextDocument returns the JSON document of podserver's context
// (ContextURI), as the server should serve it (application/ld+json).
func ContextDocument() []byte { return []byte(podserverContextDoc) }

// KnownContexts returns the canonical URIs of the contexts the document
// loader serves, sorted.
func KnownContexts() []string {
	return []string{ContextURI, ActivityStreamsContextURI, NotificationContextURI}
}

// knownContextDoc returns the document for a context URI, accepting the
// http and https forms, a trailing slash and (for ActivityStreams) the
// ".jsonld" suffix.
func knownContextDoc(u string) (canonical, doc string, ok bool) {
	u = strings.TrimSuffix(u, "/")
	if rest, found := strings.CutPrefix(u, "http://"); found {
		u = "https://" + rest
	}
	switch u {
	case ContextURI:
		return ContextURI, podserverContextDoc, true
	case ActivityStreamsContextURI, ActivityStreamsContextURI + ".jsonld":
		return ActivityStreamsContextURI, activityStreamsContextDoc, true
	case NotificationContextURI:
		return NotificationContextURI, notificationContextDoc, true
	}
	return "", "", false
}

// UnknownContextError reports a remote context the document loader does not
// know. The HTTP layer answers it with 400 Bad Request.
type UnknownContextError struct {
	URL string
}

// Error says which context is unknown and which ones can be used.
func (e *UnknownContextError) Error() string {
	return fmt.Sprintf("unknown remote context %s: only these contexts can be used: %s",
		e.URL, strings.Join(KnownContexts(), ", "))
}

// DocumentLoader is a json-gold ld.DocumentLoader that serves the known
// contexts from memory and never touches the network. It is safe for
// concurrent use.
type DocumentLoader struct {
	docs map[string]any // canonical URI -> parsed document, never mutated
}

var _ ld.DocumentLoader = (*DocumentLoader)(nil)

// NewDocumentLoader returns a loader serving the built-in contexts
// (ContextURI, ActivityStreamsContextURI, NotificationContextURI). Any other
// URL is an *UnknownContextError.
func NewDocumentLoader() *DocumentLoader {
	l := &DocumentLoader{docs: make(map[string]any, 3)}
	for _, u := range KnownContexts() {
		_, raw, _ := knownContextDoc(u)
		var doc any
		if err := json.Unmarshal([]byte(raw), &doc); err != nil {
			panic(fmt.Sprintf("rdf: built-in context %s is not JSON: %v", u, err))
		}
		l.docs[u] = doc
	}
	return l
}

// jsonldEnv is what the package functions share: the loader and
// podserver's context already processed. It is built once and never
// changes afterwards.
type jsonldEnv struct {
	loader *DocumentLoader
	podCtx *ld.Context // ContextURI processed, with an empty base
}

var sharedEnv = sync.OnceValue(func() *jsonldEnv {
	env := &jsonldEnv{loader: NewDocumentLoader()}
	opts := ld.NewJsonLdOptions("")
	opts.DocumentLoader = env.loader
	ctx, err := ld.NewContext(nil, opts).Parse(ContextURI)
	if err != nil {
		panic(fmt.Sprintf("rdf: built-in context %s does not process: %v", ContextURI, err))
	}
	env.podCtx = ctx
	return env
})

// podContext returns a copy of podserver's processed context with the given
// base, for use as the initial context of a document that has none. Copying
// is much cheaper than processing the context again on every document.
func (env *jsonldEnv) podContext(base string) *ld.Context {
	ctx := ld.CopyContext(env.podCtx)
	ctx.Values.Base = base
	return ctx
}

// LoadDocument implements ld.DocumentLoader. It returns a fresh copy of the
// document each time, so json-gold may modify it (it does for @import).
func (l *DocumentLoader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	canonical, _, ok := knownContextDoc(u)
	if !ok {
		return nil, &UnknownContextError{URL: u}
	}
	return &ld.RemoteDocument{DocumentURL: canonical, Document: cloneJSON(l.docs[canonical])}, nil
}

// cloneJSON deep-copies a decoded JSON value.
func cloneJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = cloneJSON(e)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, e := range v {
			s[i] = cloneJSON(e)
		}
		return s
	default:
		return v
	}
}
