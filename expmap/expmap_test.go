package expmap

import (
	"testing"
	"time"
)

func TestMakeRoom(t *testing.T) {
	now := time.Unix(1000, 0)
	at := func(s int) time.Time { return now.Add(time.Duration(s) * time.Second) }
	exp := func(v time.Time) time.Time { return v }
	m := map[string]time.Time{"gone": at(-1), "soon": at(5), "later": at(50), "last": at(500)}

	MakeRoom(m, "later", 4, now, exp) // an existing key needs no room
	if len(m) != 4 {
		t.Fatalf("an update evicted: %v", m)
	}
	MakeRoom(m, "new", 10, now, exp) // below max
	if len(m) != 4 {
		t.Fatalf("evicted below max: %v", m)
	}
	MakeRoom(m, "new", 4, now, exp) // the expired one goes first, and is enough
	if _, ok := m["gone"]; ok || len(m) != 3 {
		t.Fatalf("after making room for one: %v, want the expired entry gone only", m)
	}
	MakeRoom(m, "new", 2, now, exp) // then the soonest to expire
	if len(m) != 1 || m["last"] != at(500) {
		t.Fatalf("after making room within 2: %v, want only the last to expire", m)
	}
}
