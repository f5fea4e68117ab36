package rdf

import (
	_ "embed" // the JSON-LD context documents are built into the binary
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
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
	//     rdfs, vcard, schema, sec: every vocabulary of DefaultPrefixes, so
	//     that WriteJSONLD writes no IRI of them in full.
	//
	// ContextURI is the name podserver wrote before it served its own
	// context, and the one stored documents still use. Nobody outside the
	// binary can load it, so nothing the server sends names it: HTTP
	// responses name ContextURL of the server instead (see Portable), and
	// copies sent to other servers carry the context inline
	// (PortableInline). Documents naming it are still read.
	ContextURI = "https://w3id.org/podserver/v1"

	// ContextPath is where every podserver serves ContextDocument, at its
	// origin (the base URL, also in subdomain mode): ContextURL(base).
	ContextPath = "/ns/v1"

	// ListingContextPath is where podserver serves ListingContextDocument,
	// the context of the app-facing inbox listing.
	ListingContextPath = "/ns/v1/listing"

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
// (ContextURI), as the server serves it at ContextPath
// (application/ld+json).
func ContextDocument() []byte { return []byte(podserverContextDoc) }

// ListingContextDocument returns the context of the app-facing inbox
// listing, served at ListingContextPath: podserver's context with three
// terms changed for the listing, so that the listing's compact JSON is the
// right RDF (see inbox.Handler.List):
//
//   - contains (ldp:contains) gets a context of its own for the entries it
//     holds, not propagated into their values: "url" is the entry's @id
//     (the item's IRI, so the entry's data hangs off the item) and "id" is
//     pod:event, the IRI of the event the item is a copy of.
//   - notification (pod:notification) is a JSON literal (rdf:JSON): a
//     notification whose own JSON-LD cannot be merged into an entry is
//     embedded as sent, as a value of the item.
//   - next is no statement: the cursor is paging, which HTTP carries
//     (Link rel="next").
func ListingContextDocument() []byte { return []byte(listingContextDoc()) }

// ContextURL returns the URL of podserver's context on the server at base
// (a base URL without a trailing slash, e.g. podurl.Scheme.Base()).
func ContextURL(base string) string { return strings.TrimSuffix(base, "/") + ContextPath }

// ListingContextURL returns the URL of the inbox listing's context on the
// server at base.
func ListingContextURL(base string) string {
	return strings.TrimSuffix(base, "/") + ListingContextPath
}

// listingContextDoc derives the listing context from podserver's.
var listingContextDoc = sync.OnceValue(func() string {
	var doc map[string]map[string]any
	if err := json.Unmarshal([]byte(podserverContextDoc), &doc); err != nil {
		panic(fmt.Sprintf("rdf: built-in context is not JSON: %v", err))
	}
	ctx := doc["@context"]
	ctx["contains"] = map[string]any{
		"@id": "ldp:contains", "@type": "@id", "@container": "@set",
		"@context": map[string]any{
			"@propagate": false,
			"url":        "@id",
			"id":         map[string]any{"@id": "pod:event", "@type": "@id"},
		},
	}
	ctx["notification"] = map[string]any{"@id": "pod:notification", "@type": "@json"}
	ctx["next"] = nil
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("rdf: listing context: %v", err))
	}
	return string(b) + "\n"
})

// KnownContexts returns the canonical URIs of the contexts built into the
// binary, which every document may use without a fetch: podserver's own
// and those of shippedContexts.
func KnownContexts() []string {
	known := []string{ContextURI, ActivityStreamsContextURI, NotificationContextURI}
	for _, sc := range shippedContexts {
		known = append(known, sc.uri)
	}
	return known
}

// listingContextURI is the loader's internal name of the listing context,
// which is only ever named by its served URL.
const listingContextURI = ContextURI + "/listing"

// localContext returns the built-in name of a context served by podserver
// at u (ContextURL or ListingContextURL of some base), if u is one for a
// document at docBase: a context on the document's own origin, or on the
// origin one domain label up (the server's base in subdomain mode, where
// pods are at {pod}.HOST). So a document read from or written to a pod of
// this server may name this server's context without a network fetch;
// another server's context is not known (copies between servers carry
// theirs inline).
func localContext(u, docBase string) (string, bool) {
	cu, err := url.Parse(u)
	if err != nil || cu.RawQuery != "" || cu.Fragment != "" {
		return "", false
	}
	var name string
	switch cu.Path {
	case ContextPath, ContextPath + ".jsonld":
		name = ContextURI
	case ListingContextPath:
		name = listingContextURI
	default:
		return "", false
	}
	du, err := url.Parse(docBase)
	if err != nil || du.Host == "" || du.Scheme != cu.Scheme {
		return "", false
	}
	host, ctxHost := strings.ToLower(du.Host), strings.ToLower(cu.Host)
	if ctxHost == host {
		return name, true
	}
	if _, parent, ok := strings.Cut(host, "."); ok && ctxHost == parent {
		return name, true
	}
	return "", false
}

// knownContext returns the canonical URI of a built-in context, accepting
// the http and https forms, a trailing slash and the aliases of
// shippedContexts (for ActivityStreams, the ".jsonld" suffix).
func knownContext(u string) (canonical string, ok bool) {
	u = strings.TrimSuffix(u, "/")
	if rest, found := strings.CutPrefix(u, "http://"); found {
		u = "https://" + rest
	}
	switch u {
	case ContextURI, listingContextURI, ActivityStreamsContextURI, NotificationContextURI:
		return u, true
	case ActivityStreamsContextURI + ".jsonld":
		return ActivityStreamsContextURI, true
	}
	for _, sc := range shippedContexts {
		if u == strings.TrimSuffix(sc.uri, "/") || slices.Contains(sc.aliases, u) {
			return sc.uri, true
		}
	}
	return "", false
}

// builtinContextDoc returns the document of a built-in context by its
// canonical URI (see knownContext).
func builtinContextDoc(canonical string) string {
	switch canonical {
	case ContextURI:
		return podserverContextDoc
	case listingContextURI:
		return listingContextDoc()
	case ActivityStreamsContextURI:
		return activityStreamsContextDoc
	case NotificationContextURI:
		return notificationContextDoc
	}
	for _, sc := range shippedContexts {
		if sc.uri == canonical {
			b, err := shippedContextFiles.ReadFile("contexts/" + sc.file)
			if err != nil {
				panic(fmt.Sprintf("rdf: built-in context %s: %v", sc.uri, err))
			}
			return string(b)
		}
	}
	panic("rdf: no built-in context " + canonical)
}

// UnknownContextError reports a remote context the document loader does not
// know while remote contexts are not loaded (a Reader without a Fetcher).
// The HTTP layer answers it with 400 Bad Request.
type UnknownContextError struct {
	URL string
}

// Error says which context is unknown and which ones can be used.
func (e *UnknownContextError) Error() string {
	return fmt.Sprintf("unknown remote context %s: this server loads no remote contexts; only these contexts can be used: %s, and this server's %s",
		e.URL, strings.Join(KnownContexts(), ", "), ContextPath)
}

// DocumentLoader is a json-gold ld.DocumentLoader that serves the built-in
// contexts from memory and never touches the network. It is safe for
// concurrent use.
type DocumentLoader struct {
	docs map[string]any // canonical URI -> parsed document, never mutated
}

var _ ld.DocumentLoader = (*DocumentLoader)(nil)

// NewDocumentLoader returns a loader serving the built-in contexts
// (KnownContexts). Any other URL is an *UnknownContextError.
func NewDocumentLoader() *DocumentLoader {
	known := KnownContexts()
	l := &DocumentLoader{docs: make(map[string]any, len(known)+1)}
	for _, u := range append(known, listingContextURI) {
		var doc any
		if err := json.Unmarshal([]byte(builtinContextDoc(u)), &doc); err != nil {
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
	canonical, ok := knownContext(u)
	if !ok {
		return nil, &UnknownContextError{URL: u}
	}
	return &ld.RemoteDocument{DocumentURL: canonical, Document: cloneJSON(l.docs[canonical])}, nil
}

// docLoader is the loader for one document at base: the built-in contexts,
// podserver's contexts served by the document's own server (see
// localContext) and, when remote is not nil, other remote contexts.
type docLoader struct {
	*DocumentLoader
	base   string
	remote *docContexts
}

// LoadDocument implements ld.DocumentLoader.
func (l docLoader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	if name, ok := localContext(u, l.base); ok {
		return &ld.RemoteDocument{DocumentURL: u, Document: cloneJSON(l.docs[name])}, nil
	}
	rd, err := l.DocumentLoader.LoadDocument(u)
	var uc *UnknownContextError
	if l.remote == nil || !errors.As(err, &uc) {
		return rd, err
	}
	doc, err := l.remote.load(u)
	if err != nil {
		return nil, err
	}
	return &ld.RemoteDocument{DocumentURL: u, Document: doc}, nil
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
