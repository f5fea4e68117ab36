package deliver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"podserver/netguard"
	"podserver/store"
)

// A target on an address the policy refuses (here loopback) is a
// permanent failure: a dead letter after one attempt, whose error says
// why, not 8 attempts over a day. The target is never reached.
func TestQueueRefusedAddressIsPermanent(t *testing.T) {
	reached := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		reached = true
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	client := netguard.NewClient(netguard.Policy{}, netguard.ClientOptions{})
	q := New(Config{Store: st})
	q.HandleRemote(KindWebhook, func(ctx context.Context, r Record) (Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.Target, nil)
		if err != nil {
			return Response{}, Permanent(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			// As the webhook, LDN and push handlers wrap it.
			return Response{}, fmt.Errorf("POST %s: %w", r.Target, err)
		}
		return ReadResponse(resp, r.Target, time.Now())
	})
	q.Start()
	defer q.Close()
	r := enqueue(t, st, q, Record{Kind: KindWebhook, Pod: "p", EventID: "e", Target: srv.URL + "/cb"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := q.Wait(ctx, r)
	if res.Status != StatusDead || !strings.Contains(res.Error, "address refused") {
		t.Fatalf("delivery to a refused address: %+v, want dead with the refusal", res)
	}
	var got Record
	_ = st.View(context.Background(), func(rd store.Reader) error {
		got, err = Get(rd, "p", r.Seq)
		return err
	})
	if err != nil || got.Status != StatusDead || got.Attempts != 1 {
		t.Fatalf("record %+v (%v), want dead after 1 attempt", got, err)
	}
	if reached {
		t.Fatal("the refused target was reached")
	}
	if !isPermanent(fmt.Errorf("x: %w", netguard.ErrRefused)) || isPermanent(errors.New("x")) {
		t.Fatal("isPermanent misclassifies")
	}
}
