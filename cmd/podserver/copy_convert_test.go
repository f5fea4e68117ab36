package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"podserver/inbox"
	"podserver/ldp"
	"podserver/pod"
	"podserver/store"
)

// oldItem is an inbox item written in the layout before shared bodies.
type oldItem struct {
	pod, key, path string
	body           []byte
}

// writeOldItems writes, into the stopped demo store in dir, events copies
// of events into the inboxes of alice, bob and crm as the server wrote them
// before shared bodies: the body inline in each item's record, each copy
// listed by the per-inbox dedup key of that data
// (store.PrefixInboxDedup + inbox + 0x00 + event id -> item path).
func writeOldItems(t *testing.T, dir, base string, events int) []oldItem {
	t.Helper()
	s, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	owners := map[string]string{"alice": "pk_demo_alice_owner_0123456789", "bob": "pk_demo_bob_owner_0123456789", "crm": crmKey}
	var out []oldItem
	now := time.Now().Add(-time.Hour)
	for e := range events {
		id := fmt.Sprintf("%sproducer/publish/old%d", base, e)
		body := []byte(`{"id":"` + id + `","topic":"realestate/contact#add","agent":"` + base + `producer/profile/card#me",` +
			`"data":{"type":"AddAction","object":{"type":"Contact","name":"Old ` + fmt.Sprint(e) + `","note":"` + strings.Repeat("n", 600) + `"}}}`)
		err := s.Update(context.Background(), func(tx store.Txn) error {
			for _, p := range []string{"alice", "bob", "crm"} {
				in := inbox.Path(p)
				item, _, err := ldp.AppendSeqMember(tx, in, tx.NextSeq(), ldp.MediaJSONLD, body, now)
				if err != nil {
					return err
				}
				if err := tx.Set([]byte(store.PrefixInboxDedup+in+"\x00"+id), []byte(item)); err != nil {
					return err
				}
				out = append(out, oldItem{pod: p, key: owners[p], path: item, body: body})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// itemRead is a GET of an inbox item over HTTP.
type itemRead struct {
	status     int
	body, etag string
}

// readItems GETs items from a server started on the Badger store in dir at
// addr (where the demo pods' server listened).
func readItems(t *testing.T, dir, addr string, items []oldItem) []itemRead {
	t.Helper()
	s, err := pod.New(pod.Options{DataDir: dir, Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(s)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	var out []itemRead
	for _, it := range items {
		req, err := http.NewRequest("GET", s.PodRoot(it.pod)+"inbox/"+path.Base(it.path), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("x-api-key", it.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, itemRead{resp.StatusCode, string(b), resp.Header.Get("ETag")})
	}
	return out
}

// TestCopyCommandConverts: podserver copy converts inbox items of the
// layout before shared bodies into references to one body per event; a
// server on the copy answers GET on each item byte for byte and with the
// ETag a server on the source gave. --convert=false copies the keys as
// they are.
func TestCopyCommandConverts(t *testing.T) {
	const events = 3
	d := demoStore(t)
	items := writeOldItems(t, d.dir, "http://"+d.addr+"/", events)
	before := readItems(t, d.dir, d.addr, items)
	for i, r := range before {
		if r.status != http.StatusOK || !strings.Contains(r.body, fmt.Sprintf(`"name":"Old %d"`, i/3)) || r.etag == "" {
			t.Fatalf("%s on the source: %d %s", items[i].path, r.status, r.body)
		}
	}
	srcData, _ := storeData(t, d.dir)

	dst := filepath.Join(t.TempDir(), "copy")
	code, out, errs := runCmd("copy", "--from", d.dir, "--to", dst)
	if code != 0 {
		t.Fatalf("copy: %d %s", code, errs)
	}
	if want := fmt.Sprintf("converted %d inbox items to shared bodies", len(items)); !strings.Contains(out, want) {
		t.Errorf("copy printed %q; want %q", out, want)
	}
	s, err := store.Open(store.Options{Dir: dst})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(context.Background(), func(rd store.Reader) error {
		for i := 0; i < len(items); i += 3 {
			if n, err := ldp.BodyRefs(rd, items[i].body); err != nil || n != 3 {
				return fmt.Errorf("event %d: %d references, want 3 (%v)", i/3, n, err)
			}
		}
		return rd.Scan([]byte(store.PrefixResource), nil, false, func(k, v []byte) error {
			for _, it := range items {
				if string(v) != "" && strings.Contains(string(v), string(it.body)) {
					return fmt.Errorf("%q still holds its body inline", k)
				}
			}
			return nil
		})
	})
	_ = s.Close()
	if err != nil {
		t.Fatal(err)
	}
	after := readItems(t, dst, d.addr, items)
	if !slices.Equal(after, before) {
		for i := range items {
			if after[i] != before[i] {
				t.Errorf("%s: on the source %d %s %s; on the copy %d %s %s", items[i].path,
					before[i].status, before[i].etag, before[i].body, after[i].status, after[i].etag, after[i].body)
			}
		}
	}

	plain := filepath.Join(t.TempDir(), "plain")
	if code, out, errs := runCmd("copy", "--from", d.dir, "--to", plain, "--convert=false"); code != 0 || strings.Contains(out, "converted") {
		t.Fatalf("copy --convert=false: %d %q %s", code, out, errs)
	}
	if got, _ := storeData(t, plain); !slices.Equal(got, srcData) {
		t.Errorf("copy --convert=false holds %d pairs, the source %d, or they differ", len(got), len(srcData))
	}
}
