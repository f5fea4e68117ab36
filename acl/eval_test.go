package acl

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"podserver/rdf"
	"podserver/store"
)

// newWatched returns an Evaluator over loc that follows a store.Watch, and
// a function that reports one change of an ACL document to that watch, as
// the store's change feed does once the write is durable.
func newWatched(loc Locator) (*Evaluator, func()) {
	w := store.NewWatch(func(store.Change) bool { return true })
	return NewEvaluator(loc, w), func() { w.Observe([]store.Change{{Key: []byte("r/alice/.acl")}}) }
}

// fakeLocator serves ACL documents from a map and counts reads.
type fakeLocator struct {
	mu     sync.Mutex
	docs   map[string][]rdf.Quad
	calls  map[string]int
	err    error
	during func() // called inside ACL, before it returns
}

func newFakeLocator() *fakeLocator {
	return &fakeLocator{docs: make(map[string][]rdf.Quad), calls: make(map[string]int)}
}

func (l *fakeLocator) ACL(_ context.Context, aclURL string) ([]rdf.Quad, bool, error) {
	l.mu.Lock()
	l.calls[aclURL]++
	quads, ok := l.docs[aclURL]
	err, during := l.err, l.during
	l.mu.Unlock()
	if during != nil {
		during()
	}
	if err != nil {
		return nil, false, err
	}
	return quads, ok, nil
}

func (l *fakeLocator) set(aclURL string, quads []rdf.Quad) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if quads == nil {
		delete(l.docs, aclURL)
		return
	}
	l.docs[aclURL] = quads
}

func (l *fakeLocator) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.calls {
		n += c
	}
	return n
}

// auth builds the quads of one authorization. target is the acl:accessTo
// IRI, or the acl:default IRI when inherited.
func auth(id, target string, inherited bool, modes Mode, agents, classes, origins []string) []rdf.Quad {
	a := Authorization{ID: id, Agents: agents, AgentClasses: classes, Origins: origins, Modes: modes}
	if inherited {
		a.Default = []string{target}
	} else {
		a.AccessTo = []string{target}
	}
	return BuildACL([]Authorization{a})
}

const (
	root    = "http://h/alice/"
	alice   = "http://h/alice/profile/card#me"
	bob     = "http://h/bob/profile/card#me" // an app key of another pod
	allowed = "https://allowed.example"
	other   = "https://other.example"
)

// matrixACL is the ACL document of the WAC matrix, for target.
func matrixACL(doc, target string, inherited bool) []rdf.Quad {
	var quads []rdf.Quad
	quads = append(quads, auth(doc+"#owner", target, inherited, Read|Write|Control, []string{alice}, nil, nil)...)
	quads = append(quads, auth(doc+"#bob", target, inherited, Read|Append, []string{bob}, nil, []string{allowed})...)
	quads = append(quads, auth(doc+"#public", target, inherited, Read, nil, []string{FOAFAgent}, []string{allowed + "/"})...)
	// Decoy: in the same document, for the other kind of target. It must
	// never apply.
	quads = append(quads, auth(doc+"#decoy", target, !inherited, Read|Write|Control, nil, []string{FOAFAgent}, nil)...)
	return quads
}

// decoyACL grants everyone everything: it must be shadowed by a nearer ACL.
func decoyACL(doc, container string) []rdf.Quad {
	quads := auth(doc+"#all", container, true, Read|Write|Control, nil, []string{FOAFAgent}, nil)
	return append(quads, auth(doc+"#self", container, false, Read|Write|Control, nil, []string{FOAFAgent}, nil)...)
}

func TestWACMatrix(t *testing.T) {
	const resource = root + "a/b/doc"
	setups := []struct {
		name      string
		docs      map[string][]rdf.Quad
		aclURL    string
		inherited bool
	}{
		{
			name: "own ACL",
			docs: map[string][]rdf.Quad{
				resource + ".acl": matrixACL(resource+".acl", resource, false),
				root + "a/.acl":   decoyACL(root+"a/.acl", root+"a/"),
			},
			aclURL: resource + ".acl",
		},
		{
			name: "inherited two levels up",
			docs: map[string][]rdf.Quad{
				root + "a/.acl": matrixACL(root+"a/.acl", root+"a/", true),
				root + ".acl":   decoyACL(root+".acl", root),
			},
			aclURL:    root + "a/.acl",
			inherited: true,
		},
	}
	agents := []struct {
		name, webID string
	}{{"owner", alice}, {"other pod's app", bob}, {"anonymous", ""}}
	origins := []struct {
		name, origin string
	}{{"no Origin", ""}, {"allowed Origin", allowed}, {"other Origin", other}}
	// want[agent][origin] is the full set of modes granted.
	want := map[string]map[string]Mode{
		"owner":           {"no Origin": Read | Write | Append | Control, "allowed Origin": Read | Write | Append | Control, "other Origin": Read | Write | Append | Control},
		"other pod's app": {"no Origin": Read | Append, "allowed Origin": Read | Append, "other Origin": 0},
		"anonymous":       {"no Origin": Read, "allowed Origin": Read, "other Origin": 0},
	}
	publicWant := map[string]Mode{"no Origin": Read, "allowed Origin": Read, "other Origin": 0}
	modes := []Mode{Read, Write, Append, Control}

	ctx := context.Background()
	for _, s := range setups {
		loc := newFakeLocator()
		for u, quads := range s.docs {
			loc.set(u, quads)
		}
		e, _ := newWatched(loc)
		aclURL, _, inherited, err := e.Effective(ctx, resource, root)
		if err != nil || aclURL != s.aclURL || inherited != s.inherited {
			t.Fatalf("%s: Effective = %q, %v, %v; want %q, %v", s.name, aclURL, inherited, err, s.aclURL, s.inherited)
		}
		for _, a := range agents {
			for _, o := range origins {
				req := Request{ResourceURL: resource, RootURL: root, Agent: a.webID, Origin: o.origin}
				granted := want[a.name][o.name]
				user, public, err := e.Modes(ctx, req)
				if err != nil || user != granted || public != publicWant[o.name] {
					t.Errorf("%s / %s / %s: Modes = %q, %q, %v; want %q, %q",
						s.name, a.name, o.name, user, public, err, granted, publicWant[o.name])
				}
				for _, m := range modes {
					t.Run(fmt.Sprintf("%s/%s/%s/%s", s.name, a.name, o.name, m), func(t *testing.T) {
						var wantErr error
						switch {
						case granted.Grants(m):
						case a.webID == "":
							wantErr = ErrUnauthenticated
						default:
							wantErr = ErrForbidden
						}
						if err := e.Check(ctx, req, m); err != wantErr {
							t.Errorf("Check(%s) = %v, want %v", m, err, wantErr)
						}
					})
				}
			}
		}
	}
}

func TestWACWriteImpliesAppend(t *testing.T) {
	loc := newFakeLocator()
	loc.set(root+".acl", auth("_:w", root, true, Write, nil, []string{AuthenticatedAgent}, nil))
	e, _ := newWatched(loc)
	req := Request{ResourceURL: root + "inbox/", RootURL: root, Agent: bob}
	ctx := context.Background()
	if err := e.Check(ctx, req, Append); err != nil {
		t.Errorf("Append with Write: %v", err)
	}
	if m, _ := e.Allowed(ctx, req); m != Write|Append {
		t.Errorf("Allowed = %q, want write append", m)
	}
	if err := e.Check(ctx, req, Read); err != ErrForbidden {
		t.Errorf("Read with Write only = %v, want ErrForbidden", err)
	}
	// AuthenticatedAgent does not cover anonymous requests.
	if err := e.Check(ctx, Request{ResourceURL: root + "inbox/", RootURL: root}, Append); err != ErrUnauthenticated {
		t.Errorf("anonymous Append = %v, want ErrUnauthenticated", err)
	}
}

func TestWACHierarchy(t *testing.T) {
	ctx := context.Background()
	everyone := []string{FOAFAgent}
	tests := []struct {
		name      string
		docs      map[string][]rdf.Quad
		resource  string
		want      Mode
		aclURL    string
		inherited bool
	}{
		{
			name:     "no ACL up to the root denies",
			resource: root + "a/b/doc",
		},
		{
			name:     "ACL above the root is not consulted",
			docs:     map[string][]rdf.Quad{"http://h/.acl": auth("_:x", "http://h/", true, Read, nil, everyone, nil)},
			resource: root + "a/doc",
		},
		{
			name:     "container's own ACL: accessTo governs the container",
			docs:     map[string][]rdf.Quad{root + "c/.acl": auth("_:x", root+"c/", false, Read, nil, everyone, nil)},
			resource: root + "c/",
			want:     Read,
			aclURL:   root + "c/.acl",
		},
		{
			name:     "container's own ACL with only acl:default does not cover the container",
			docs:     map[string][]rdf.Quad{root + "c/.acl": auth("_:x", root+"c/", true, Read, nil, everyone, nil)},
			resource: root + "c/",
			aclURL:   root + "c/.acl",
		},
		{
			name:      "child container inherits",
			docs:      map[string][]rdf.Quad{root + "c/.acl": auth("_:x", root+"c/", true, Read, nil, everyone, nil)},
			resource:  root + "c/d/",
			want:      Read,
			aclURL:    root + "c/.acl",
			inherited: true,
		},
		{
			name: "nearest ACL without a matching default stops the walk",
			docs: map[string][]rdf.Quad{
				root + "c/.acl": auth("_:x", root+"c/", false, Read, nil, everyone, nil),
				root + ".acl":   auth("_:y", root, true, Read, nil, everyone, nil),
			},
			resource:  root + "c/doc",
			aclURL:    root + "c/.acl",
			inherited: true,
		},
		{
			name:     "root's own ACL",
			docs:     map[string][]rdf.Quad{root + ".acl": auth("_:x", root, false, Control, nil, everyone, nil)},
			resource: root,
			want:     Control,
			aclURL:   root + ".acl",
		},
		{
			name:     "an ACL document is decided for its resource",
			docs:     map[string][]rdf.Quad{root + "doc.acl": auth("_:x", root+"doc", false, Control, nil, everyone, nil)},
			resource: root + "doc.acl",
			want:     Control,
			aclURL:   root + "doc.acl",
		},
		{
			name:      "a container's ACL document is decided for the container",
			docs:      map[string][]rdf.Quad{root + ".acl": auth("_:x", root, true, Control, nil, everyone, nil)},
			resource:  root + "c/.acl",
			want:      Control,
			aclURL:    root + ".acl",
			inherited: true,
		},
		{
			name:      "acl:origin without a request Origin applies",
			docs:      map[string][]rdf.Quad{root + ".acl": auth("_:x", root, true, Read, nil, everyone, []string{allowed})},
			resource:  root + "x",
			want:      Read,
			aclURL:    root + ".acl",
			inherited: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := newFakeLocator()
			for u, quads := range tt.docs {
				loc.set(u, quads)
			}
			e, _ := newWatched(loc)
			aclURL, _, inherited, err := e.Effective(ctx, tt.resource, root)
			if err != nil || aclURL != tt.aclURL || inherited != tt.inherited {
				t.Errorf("Effective = %q, %v, %v; want %q, %v", aclURL, inherited, err, tt.aclURL, tt.inherited)
			}
			got, err := e.Allowed(ctx, Request{ResourceURL: tt.resource, RootURL: root, Agent: alice})
			if err != nil || got != tt.want {
				t.Errorf("Allowed = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestWACOutsideRoot(t *testing.T) {
	e, _ := newWatched(newFakeLocator())
	for _, tt := range []struct{ resource, root string }{
		{"http://h/bob/x", root},
		{"http://h/alice", root},
		{root + "x?q=1", root},
		{root + "x#frag", root},
		{root + "x", "http://h/alice"},
		{root + "x", ""},
	} {
		_, err := e.Allowed(context.Background(), Request{ResourceURL: tt.resource, RootURL: tt.root})
		if !errors.Is(err, ErrOutsideRoot) {
			t.Errorf("Allowed(%q under %q) = %v, want ErrOutsideRoot", tt.resource, tt.root, err)
		}
	}
}

func TestParent(t *testing.T) {
	tests := []struct{ u, want string }{
		{"http://h/alice/a/b/c", "http://h/alice/a/b/"},
		{"http://h/alice/a/b/", "http://h/alice/a/"},
		{"http://h/alice/a", "http://h/alice/"},
		{"http://h/alice/a/", "http://h/alice/"},
		{"http://h/alice/", ""},
	}
	for _, tt := range tests {
		if got := parent(tt.u, root); got != tt.want {
			t.Errorf("parent(%q) = %q, want %q", tt.u, got, tt.want)
		}
	}
	if got := parent("http://alice.h/x", "http://alice.h/"); got != "http://alice.h/" {
		t.Errorf("subdomain root: parent = %q", got)
	}
}

func TestWACCache(t *testing.T) {
	ctx := context.Background()
	loc := newFakeLocator()
	e, changed := newWatched(loc)
	req := Request{ResourceURL: root + "a/doc", RootURL: root, Agent: alice}

	// Negative entries: no ACL at all, read once.
	if m, err := e.Allowed(ctx, req); m != 0 || err != nil {
		t.Fatalf("Allowed = %q, %v", m, err)
	}
	n := loc.total()
	if n != 3 { // a/doc.acl, a/.acl, .acl
		t.Errorf("first decision read %d documents, want 3", n)
	}
	e.Allowed(ctx, req)
	if loc.total() != n {
		t.Errorf("second decision read documents again")
	}

	// A new ACL is invisible until the watch reports a change.
	loc.set(root+".acl", auth("_:x", root, true, Read, []string{alice}, nil, nil))
	if m, _ := e.Allowed(ctx, req); m != 0 {
		t.Errorf("before the change was reported: %q, want none (cached)", m)
	}
	changed()
	if m, _ := e.Allowed(ctx, req); m != Read {
		t.Errorf("after the change was reported: %q, want read", m)
	}

	// A changed ACL takes effect once reported.
	loc.set(root+".acl", auth("_:x", root, true, Read|Write, []string{alice}, nil, nil))
	changed()
	if m, _ := e.Allowed(ctx, req); m != Read|Write|Append {
		t.Errorf("after change: %q", m)
	}
	// A deleted ACL takes effect once reported.
	loc.set(root+".acl", nil)
	changed()
	if m, _ := e.Allowed(ctx, req); m != 0 {
		t.Errorf("after delete: %q", m)
	}
}

func TestWACCacheErrors(t *testing.T) {
	ctx := context.Background()
	loc := newFakeLocator()
	e, changed := newWatched(loc)
	req := Request{ResourceURL: root + "doc", RootURL: root, Agent: alice}

	// Locator errors deny, are returned, and are not cached.
	boom := errors.New("disk on fire")
	loc.err = boom
	if m, err := e.Allowed(ctx, req); m != 0 || !errors.Is(err, boom) {
		t.Errorf("Allowed with a failing locator = %q, %v", m, err)
	}
	if err := e.Check(ctx, req, Read); !errors.Is(err, boom) {
		t.Errorf("Check with a failing locator = %v", err)
	}
	loc.mu.Lock()
	loc.err = nil
	loc.mu.Unlock()
	loc.set(root+".acl", auth("_:x", root, true, Read, []string{alice}, nil, nil))
	if m, err := e.Allowed(ctx, req); m != Read || err != nil {
		t.Errorf("after the locator recovered: %q, %v", m, err)
	}

	// Invalid documents deny with ErrInvalidACL, and are cached.
	bad := []rdf.Quad{q("_:x", rdf.RDFType, aclAuthorization), {S: rdf.Blank("x"), P: rdf.IRI(aclAgent), O: rdf.Literal("me", "")}}
	loc.set(root+".acl", bad)
	changed()
	before := loc.total()
	for range 3 {
		if m, err := e.Allowed(ctx, req); m != 0 || !errors.Is(err, ErrInvalidACL) {
			t.Errorf("invalid ACL: %q, %v", m, err)
		}
	}
	if got := loc.total() - before; got != 2 { // doc.acl, .acl: once each
		t.Errorf("invalid ACL read %d times, want 2", got)
	}
}

// TestWACCacheChangeDuringLoad checks that a load racing with a reported
// change does not cache what it read before the ACL changed.
func TestWACCacheChangeDuringLoad(t *testing.T) {
	ctx := context.Background()
	loc := newFakeLocator()
	e, changed := newWatched(loc)
	req := Request{ResourceURL: root + "doc", RootURL: root, Agent: alice}
	loc.during = func() {
		// An ACL write lands while the evaluator is reading.
		loc.set(root+".acl", auth("_:x", root, true, Read, []string{alice}, nil, nil))
		changed()
	}
	e.Allowed(ctx, req) // read the old state (no ACL)
	loc.mu.Lock()
	loc.during = nil
	loc.mu.Unlock()
	if m, _ := e.Allowed(ctx, req); m != Read {
		t.Errorf("stale negative entry survived the change: %q", m)
	}
}

func TestWACCacheBound(t *testing.T) {
	ctx := context.Background()
	loc := newFakeLocator()
	e, _ := newWatched(loc)
	e.cache.max = 4
	for i := range 20 {
		e.Allowed(ctx, Request{ResourceURL: fmt.Sprintf("%sc%d/doc", root, i), RootURL: root})
		e.cache.mu.RLock()
		n := len(e.cache.docs)
		e.cache.mu.RUnlock()
		if n > 4 {
			t.Fatalf("cache holds %d entries, bound 4", n)
		}
	}
}

func TestWACConcurrent(t *testing.T) {
	ctx := context.Background()
	loc := newFakeLocator()
	loc.set(root+".acl", auth("_:x", root, true, Read, []string{alice}, nil, nil))
	e, changed := newWatched(loc)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				req := Request{ResourceURL: fmt.Sprintf("%sc%d/d%d", root, i, j%7), RootURL: root, Agent: alice}
				if m, err := e.Allowed(ctx, req); err != nil || m != Read {
					t.Errorf("Allowed = %q, %v", m, err)
					return
				}
				if j%50 == 0 {
					changed()
				}
			}
		})
	}
	wg.Wait()
}

// Without a watch nothing is cached: every decision reads the documents.
func TestWACNoWatchNoCache(t *testing.T) {
	ctx := context.Background()
	loc := newFakeLocator()
	loc.set(root+".acl", auth("_:x", root, true, Read, []string{alice}, nil, nil))
	e := NewEvaluator(loc, nil)
	req := Request{ResourceURL: root + "doc", RootURL: root, Agent: alice}
	for range 2 {
		if m, err := e.Allowed(ctx, req); m != Read || err != nil {
			t.Fatalf("Allowed = %q, %v", m, err)
		}
	}
	if n := loc.total(); n != 4 { // doc.acl, .acl, twice
		t.Errorf("two decisions read %d documents, want 4", n)
	}
	loc.set(root+".acl", nil)
	if m, _ := e.Allowed(ctx, req); m != 0 {
		t.Errorf("after the ACL went: %q, want none", m)
	}
}
