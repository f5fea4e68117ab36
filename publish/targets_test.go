package publish

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"podserver/deliver"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/store"
)

// TestTargetsOnce: whatever the settings repeat, and whichever party is
// also a subscriber, an event's targets hold each place once, the parties'
// own first. With one routing party (the plan's lists copied as they are)
// and with two (their lists merged).
func TestTargetsOnce(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	u := testURLs("http://x")
	const remote = "https://other.example/bob/profile/card#me"
	sub := func(agent, extra string) string {
		return `{"type":"Subscription","agent":"` + agent + `","subscribes":["d/t"]` + extra + `}`
	}
	docs := map[string]string{
		// alice: herself, crm twice, a remote WebID twice, one webhook
		// twice (two items, one target), and dana.
		"alice": `{"version":"1","items":[` +
			`{"type":"Subscription","agent":"` + u.WebID("producer") + `","publishes":["d/t"]},` +
			sub(u.WebID("alice"), "") + `,` + sub(u.WebID("crm"), "") + `,` + sub(u.WebID("crm"), "") + `,` +
			sub(remote, "") + `,` + sub(remote, "") + `,` +
			sub("https://hooks.example/#me", `,"target":"https://hooks.example/cb"`) + `,` +
			sub("https://hooks.example/#you", `,"target":"https://hooks.example/cb"`) + `,` +
			sub(u.WebID("dana"), "") + `]}`,
		// crm, the source in the second case: alice, dana, erin, the
		// remote WebID and the webhook again.
		"crm": `{"version":"1","items":[` +
			`{"type":"Subscription","agent":"` + u.WebID("producer") + `","publishes":["d/t"]},` +
			sub(u.WebID("alice"), "") + `,` + sub(u.WebID("dana"), "") + `,` + sub(u.WebID("erin"), "") + `,` +
			sub(remote, "") + `,` + sub("https://hooks.example/#me", `,"target":"https://hooks.example/cb"`) + `]}`,
	}
	err = st.Update(ctx, func(tx store.Txn) error {
		for _, p := range []string{"producer", "alice", "crm", "dana", "erin"} {
			if err := ldp.CreatePod(tx, p, time.Now()); err != nil {
				return err
			}
		}
		for p, doc := range docs {
			if _, _, err := ldp.Put(tx, ldp.StoragePath(p, subscriptionsRel), ldp.MediaJSONLD, []byte(doc), time.Now(), ldp.Preconditions{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{cfg: Config{Store: st, URLs: u, Remote: true, Now: time.Now}, settings: newSettingsCache(u, slog.New(slog.DiscardHandler), nil)}
	type tg struct{ kind, target string }
	for _, c := range []struct {
		name, source string
		want         []tg
	}{
		{"recipient only", "", []tg{
			{deliver.KindInbox, inbox.Path("alice")},
			{deliver.KindInbox, inbox.Path("crm")},
			{deliver.KindInbox, inbox.Path("dana")},
			{deliver.KindLDN, remote},
			{deliver.KindWebhook, "https://hooks.example/cb"},
		}},
		{"remote source", remote, []tg{
			{deliver.KindInbox, inbox.Path("alice")},
			{deliver.KindLDN, remote},
			{deliver.KindInbox, inbox.Path("crm")},
			{deliver.KindInbox, inbox.Path("dana")},
			{deliver.KindWebhook, "https://hooks.example/cb"},
		}},
		{"both route", u.WebID("crm"), []tg{
			{deliver.KindInbox, inbox.Path("alice")},
			{deliver.KindInbox, inbox.Path("crm")},
			{deliver.KindInbox, inbox.Path("dana")},
			{deliver.KindLDN, remote},
			{deliver.KindWebhook, "https://hooks.example/cb"},
			{deliver.KindInbox, inbox.Path("erin")},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for round := range 2 { // the second from the cached plans
				var ts []Target
				err := s.view(ctx, func(rd snap) error {
					var err error
					ts, err = s.targets(ctx, rd, u.WebID("alice"), c.source, "d/t", u.WebID("producer"), func(msg string) error { t.Fatal(msg); return nil })
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				var got []tg
				for _, x := range ts {
					got = append(got, tg{x.Kind, x.Target})
				}
				if !slices.Equal(got, c.want) {
					t.Errorf("round %d: targets\n%v\nwant\n%v", round, got, c.want)
				}
			}
		})
	}
}
