package acl

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

func FuzzParseSubscriptions(f *testing.F) {
	f.Add([]byte(testSubscriptions))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"version":"1","items":[{"agent":"https://a.example/#me","publishes":["a/*","*","a/b#c"]}]}`))
	f.Add([]byte(`{"items":[{"agent":"http://x/","subscribes":["a/b"],"target":"https://t/","secret":"whsec_MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1u"}]}`))
	f.Add([]byte(`{"items":[null]}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSubscriptions(data)
		if err != nil {
			if s != nil {
				t.Fatal("document and error both returned")
			}
			if !errors.Is(err, ErrInvalidSubscriptions) {
				t.Fatalf("error %v does not match ErrInvalidSubscriptions", err)
			}
			return
		}
		// Every accepted item is valid and round-trips.
		for i, it := range s.Items {
			if !absoluteHTTP(it.Agent) || len(it.Publishes)+len(it.Subscribes) == 0 {
				t.Fatalf("items[%d] accepted but invalid: %+v", i, it)
			}
			for _, p := range slices.Concat(it.Publishes, it.Subscribes) {
				if err := ValidatePattern(p); err != nil {
					t.Fatalf("items[%d]: accepted pattern: %v", i, err)
				}
			}
			s.CanPublish(it.Agent, "a/b#c")
			s.Subscribers("a/b#c")
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseSubscriptions(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if len(again.Items) != len(s.Items) {
			t.Fatalf("re-parse has %d items, want %d", len(again.Items), len(s.Items))
		}
	})
}

func FuzzTopicMatches(f *testing.F) {
	for _, seed := range [][2]string{
		{"realestate/contact", "realestate/contact#add"},
		{"realestate/*", "realestatex/a"},
		{"*", "a/b"},
		{"a/b#c", "a/b#c"},
		{"", ""},
		{"/*", "/x"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, topic string) {
		got := TopicMatches(pattern, topic)
		if !TopicMatches(topic, topic) {
			t.Fatalf("%q does not match itself", topic)
		}
		if !TopicMatches("*", topic) {
			t.Fatalf("* does not match %q", topic)
		}
		vp, vt := ValidatePattern(pattern) == nil, ValidateTopic(topic) == nil
		if vt {
			if ValidatePattern(topic) != nil {
				t.Fatalf("topic %q is not a valid pattern", topic)
			}
			base, _, _ := strings.Cut(topic, "#")
			if !TopicMatches(base, topic) {
				t.Fatalf("%q does not match %q", base, topic)
			}
			domain, _, _ := strings.Cut(base, "/")
			if !TopicMatches(domain+"/*", topic) {
				t.Fatalf("%q does not match %q", domain+"/*", topic)
			}
			if TopicMatches(domain+"x/*", topic) {
				t.Fatalf("%q matches %q", domain+"x/*", topic)
			}
		}
		if got && vp && vt && pattern != "*" && !strings.HasSuffix(pattern, "/*") {
			// A plain pattern only matches its own topic, with or without
			// an action.
			base, _, _ := strings.Cut(topic, "#")
			if pattern != topic && pattern != base {
				t.Fatalf("%q matches %q", pattern, topic)
			}
		}
		if got && vp && vt && strings.HasSuffix(pattern, "/*") {
			prefix := strings.TrimSuffix(pattern, "*")
			if !strings.HasPrefix(topic, prefix) {
				t.Fatalf("%q matches %q", pattern, topic)
			}
		}
	})
}
