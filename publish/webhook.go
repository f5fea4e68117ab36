package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"podserver/deliver"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/netguard"
	"podserver/webhook"
)

// storedEvent is what a webhook's CloudEvent takes from a stored event.
type storedEvent struct {
	ID            string          `json:"id"`
	Recipient     string          `json:"recipient"`
	Topic         string          `json:"topic"`
	Timestamp     string          `json:"timestamp"`
	ReceivedAt    string          `json:"received_at"`
	CorrelationID string          `json:"correlationId"`
	CausationID   string          `json:"causationId"`
	Data          json.RawMessage `json:"data"`
}

// CloudEvent returns the CloudEvents 1.0 form of a stored event published
// by the pod at root: id the event id, source the pod, type the topic,
// subject the recipient, time the event's timestamp (else its arrival),
// data its data, and correlationid / causationid extensions.
func CloudEvent(stored []byte, root string) (*webhook.Event, error) {
	var se storedEvent
	if err := json.Unmarshal(stored, &se); err != nil {
		return nil, fmt.Errorf("publish: stored event: %w", err)
	}
	ce := &webhook.Event{ID: se.ID, Source: root, Type: se.Topic, Subject: se.Recipient, Data: se.Data, Extensions: map[string]string{}}
	for _, ts := range []string{se.Timestamp, se.ReceivedAt} {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			ce.Time = t.UTC()
			break
		}
	}
	if se.CorrelationID != "" {
		ce.Extensions[webhook.ExtCorrelationID] = se.CorrelationID
	}
	if se.CausationID != "" {
		ce.Extensions[webhook.ExtCausationID] = se.CausationID
	}
	return ce, nil
}

// messageID is the webhook-id of an event: the last segment of its URL
// (its UUID), which has no '.'.
func messageID(eventID string) string {
	id := eventID[strings.LastIndexByte(eventID, '/')+1:]
	return strings.ReplaceAll(id, ".", "_")
}

// eventSource returns the CloudEvents source of the event eventID: the root
// of the pod that published it (its URL is <root>publish/{id}), else
// fallback.
func eventSource(eventID, fallback string) string {
	if i := strings.LastIndex(eventID, "/publish/"); i > 0 && !strings.Contains(eventID[i+len("/publish/"):], "/") {
		return eventID[:i+1]
	}
	return fallback
}

// deliverWebhook is the delivery queue's handler for deliver.KindWebhook:
// it POSTs the event (r.Event: the published event, or the copy in the
// subscribing pod's inbox of an event from another server) as a
// structured-mode CloudEvent signed per Standard Webhooks with the secret
// of the subscription item that names the target in the settings of r.Via
// (records from before Via was always set name it by r.Pod).
func (s *Service) deliverWebhook(ctx context.Context, r deliver.Record) (deliver.Response, error) {
	var stored []byte
	secret, found := "", false
	via := r.Via
	if via == "" {
		via = r.Pod
	}
	err := s.view(ctx, func(rd snap) error {
		res, err := ldp.Get(rd, r.Event)
		if err != nil {
			return err
		}
		stored = res.Body
		e, _, err := s.settings.subscriptions(rd, via)
		if err != nil {
			return err
		}
		if e.subs != nil {
			for _, it := range e.subs.Items {
				if it.Target == r.Target {
					secret, found = it.Secret, true
					break
				}
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, ldp.ErrNotFound):
		return deliver.Response{}, deliver.Permanent(fmt.Errorf("the event %s was deleted before delivery", r.EventID))
	case err != nil:
		return deliver.Response{}, err
	case !found:
		return deliver.Response{}, deliver.Permanent(fmt.Errorf("the subscription of %s to webhook %s was removed", via, r.Target))
	}
	ce, err := CloudEvent(stored, eventSource(r.EventID, s.cfg.URLs.PodRoot(r.Pod)))
	if err != nil {
		return deliver.Response{}, deliver.Permanent(err)
	}
	body, err := json.Marshal(ce)
	if err != nil {
		return deliver.Response{}, deliver.Permanent(err)
	}
	if err := netguard.CheckURL(r.Target); err != nil {
		// Settings validation refuses such targets; records from before
		// it are dead letters at once.
		return deliver.Response{}, deliver.Permanent(fmt.Errorf("webhook: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.Target, bytes.NewReader(body))
	if err != nil {
		return deliver.Response{}, deliver.Permanent(fmt.Errorf("webhook %q: %w", r.Target, err))
	}
	req.Header.Set("Content-Type", webhook.MediaType)
	if secret != "" {
		if err := webhook.SetHeaders(req.Header, secret, messageID(r.EventID), s.cfg.Now(), body); err != nil {
			return deliver.Response{}, deliver.Permanent(err)
		}
	}
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return deliver.Response{}, fmt.Errorf("POST %s: %w", r.Target, err)
	}
	return deliver.ReadResponse(resp, r.Target, s.cfg.Now())
}

// appendResponse appends to a ?wait delivery the target's answer to the
// first attempt, as Space Cloud's synchronous events give it:
// "response": {"status": 200, "body": "<at most 4 KiB>", "truncated": true}
// (truncated only when the body was cut).
func appendResponse(b []byte, res *deliver.Result) []byte {
	b = append(b, `,"response":{"status":`...)
	b = strconv.AppendInt(b, int64(res.ResponseStatus), 10)
	b = append(b, `,"body":`...)
	b = inbox.AppendJSONString(b, strings.ToValidUTF8(string(res.ResponseBody), "\uFFFD"))
	if res.ResponseTruncated {
		b = append(b, `,"truncated":true`...)
	}
	return append(b, '}')
}
