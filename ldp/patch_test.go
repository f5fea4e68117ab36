package ldp

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"podserver/store"
)

// writerWatchStore tells whether a store write transaction is running.
type writerWatchStore struct {
	store.Store
	in *atomic.Int32
}

func (s writerWatchStore) Update(ctx context.Context, fn func(store.Txn) error) error {
	return s.Store.Update(ctx, func(tx store.Txn) error {
		s.in.Add(1)
		defer s.in.Add(-1)
		return fn(tx)
	})
}

// TestPatchOutsideWriter: a PATCH is computed outside the store's writer,
// however often the resource changes under it, so a costly patch never
// holds up the writes of other resources and pods (hostile review,
// finding 3: after three lost races the fourth attempt ran inside the
// write transaction, and a write to another pod waited 5.5 s for it). The
// Validate hook runs on each computed result, where the patch has been
// evaluated and not yet written: there it checks that no write
// transaction is running, writes another resource (which would wait for
// the writer if the patch held it) and changes the patched resource, so
// that the attempt loses its race.
func TestPatchOutsideWriter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		races  int // attempts that lose their race
		status int
		has    string
	}{
		{"no race", 0, 204, ""},
		{"races then written", patchAttempts - 1, 204, ""},
		{"the resource keeps changing", patchAttempts, 409, fmt.Sprintf(msgPatchRace, patchAttempts)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in, attempts, inWriter atomic.Int32
			var armed atomic.Bool // after the PUT that creates the resource
			var repo *Repo
			validate := func(ctx context.Context, r *Request, p, mt string, body []byte) error {
				if p != "/alice/race" || !armed.Load() {
					return nil
				}
				n := attempts.Add(1)
				if in.Load() > 0 {
					inWriter.Add(1)
					return nil // writing now would wait for ourselves
				}
				return repo.Store().Update(ctx, func(tx store.Txn) error {
					now := repo.Now()
					if _, _, err := Put(tx, fmt.Sprintf("/alice/other%d", n), MediaTurtle, []byte("<#a> <#b> <#c> ."), now, Preconditions{}); err != nil {
						return err
					}
					if int(n) > tc.races {
						return nil
					}
					_, _, err := Put(tx, "/alice/race", MediaTurtle, fmt.Appendf(nil, "<#a> <#n> %d .", n), now, Preconditions{})
					return err
				})
			}
			handler, r := newTestHandlerConfig(t, Config{Hooks: Hooks{Validate: validate}}, func(st store.Store) store.Store {
				return writerWatchStore{st, &in}
			})
			repo = r
			step{name: "create", method: "PUT", path: "/alice/race", agent: testOwner, ctype: MediaTurtle, body: "<#a> <#n> 0 .", status: 201}.run(t, handler)
			armed.Store(true)
			w := step{name: "patch", method: "PATCH", path: "/alice/race", agent: testOwner, ctype: "application/sparql-update",
				body: `INSERT { ?a <#m> ?n } WHERE { ?a <#n> ?n }`, status: tc.status, has: tc.has}.run(t, handler)
			if got := inWriter.Load(); got != 0 {
				t.Errorf("%d of %d attempts computed the patch inside the store's writer", got, attempts.Load())
			}
			if want := min(tc.races+1, patchAttempts); int(attempts.Load()) != want {
				t.Errorf("%d attempts, want %d", attempts.Load(), want)
			}
			if tc.status == 409 && w.Header().Get("Retry-After") == "" {
				t.Errorf("409 without Retry-After")
			}
			for n := 1; n <= int(attempts.Load()); n++ {
				if _, err := repo.Get(context.Background(), fmt.Sprintf("/alice/other%d", n)); err != nil {
					t.Errorf("the write of another resource during attempt %d: %v", n, err)
				}
			}
		})
	}
}

// TestPatchResultLimits: a patch's result is held to the limits of a PUT
// body (hostile review, finding 4: a 20 KB INSERT ... WHERE with fresh
// blank nodes stored 1 M triples, and 60 KB a 74 MB document), checked
// while it grows (the terms it adds, 413 from package patch) and on the
// document it would store (413 here), and a costly patch is a 422 naming
// the limit.
func TestPatchResultLimits(t *testing.T) {
	const max = 4000
	handler, repo := newTestHandlerConfig(t, Config{MaxBodyBytes: max}, nil)
	var doc strings.Builder
	for i := range 150 {
		fmt.Fprintf(&doc, "<#s%d> <#p> %d .\n", i, i)
	}
	var fresh strings.Builder
	for j := range 40 {
		fmt.Fprintf(&fresh, "_:b%d <#q> ?c . ", j)
	}
	long := `"` + strings.Repeat("x", 900) + `"`
	step{name: "create", method: "PUT", path: "/alice/doc", agent: testOwner, ctype: MediaTurtle, body: doc.String(), status: 201}.run(t, handler)
	before, err := repo.Get(context.Background(), "/alice/doc")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []step{
		{name: "fresh blank nodes past the size limit", body: `INSERT { ` + fresh.String() + `} WHERE { ?a <#p> ?c }`, status: 413,
			has: fmt.Sprintf("the patch would add more than %d bytes", max)},
		{name: "a document past the size limit", body: `INSERT DATA { <#x> <#long> ` + long + ` ; <#long2> ` + long + ` }`, status: 413,
			has: fmt.Sprintf("larger than the limit of %d bytes on a request body", max)},
		{name: "operations each cheap, too costly together", body: strings.Repeat(`DELETE{}WHERE{?a ?b ?c};`, 140), status: 422,
			has: "its WHERE clauses may have 20000 solutions in all (the solution limit)"},
		{name: "within the limits", body: `INSERT DATA { <#x> <#y> "z" }`, status: 204},
	} {
		s.method, s.path, s.agent, s.ctype = "PATCH", "/alice/doc", testOwner, "application/sparql-update"
		w := s.run(t, handler)
		if s.status != 204 {
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("%s: Content-Type %q, want JSON", s.name, ct)
			}
			after, err := repo.Get(context.Background(), "/alice/doc")
			if err != nil || after.Meta.Version != before.Meta.Version {
				t.Errorf("%s: the resource changed: %v", s.name, err)
			}
		}
	}
}
