package acl

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// SubscriptionsVersion is the only settings/subscriptions format version.
const SubscriptionsVersion = "1"

// webhookSecretPrefix starts Standard Webhooks secrets.
const webhookSecretPrefix = "whsec_"

// minWebhookSecret is the least number of bytes a webhook secret must hold
// (Standard Webhooks).
const minWebhookSecret = 24

// Subscriptions is a pod's settings/subscriptions document (DESIGN section
// 3, the Yodata version 1 format): who may publish which topics to the pod,
// and who gets a copy of which events. It is not modified after parsing and
// is safe for concurrent reads.
type Subscriptions struct {
	// Context, ID and Type keep the JSON-LD keys "@context", "id" (or
	// "@id") and "type" (or "@type") when the document has them.
	Context json.RawMessage `json:"@context,omitempty"`
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type,omitempty"`
	// Version is "1" or empty.
	Version string             `json:"version,omitempty"`
	Items   []SubscriptionItem `json:"items"`
}

// SubscriptionItem is one entry of a Subscriptions document. Agent (a WebID)
// may publish events whose topics match Publishes, and gets a copy of events
// whose topics match Subscribes: in its pod's inbox, or, when Target is set,
// at Target (a webhook signed with Secret, "whsec_" + base64).
type SubscriptionItem struct {
	ID         string   `json:"id,omitempty"`
	Type       string   `json:"type,omitempty"`
	Agent      string   `json:"agent"`
	Publishes  []string `json:"publishes,omitempty"`
	Subscribes []string `json:"subscribes,omitempty"`
	Target     string   `json:"target,omitempty"`
	Secret     string   `json:"secret,omitempty"`
}

// subscriptionsError is a parse error: its message names the place in the
// document; it matches ErrInvalidSubscriptions and its cause with errors.Is.
type subscriptionsError struct {
	msg   string
	cause error
}

func (e *subscriptionsError) Error() string { return e.msg }

func (e *subscriptionsError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrInvalidSubscriptions}
	}
	return []error{ErrInvalidSubscriptions, e.cause}
}

func docErr(format string, args ...any) error {
	return &subscriptionsError{msg: fmt.Sprintf(format, args...)}
}

// ParseSubscriptions parses and validates a settings/subscriptions document.
// The error, matching ErrInvalidSubscriptions, names the place to fix, e.g.
// "items[2].agent must be an absolute http(s) URI" or
// `items[0].publishes[1]: invalid topic pattern "x y": ...`.
//
// Rules: the document is a JSON object with "version" (optional, "1") and
// "items" (an array; missing means none). Each item has "agent" (absolute
// http(s) URI) and at least one pattern in "publishes" or "subscribes"
// (arrays of topic patterns, see ValidatePattern); "target" is an absolute
// http(s) URL; "secret", allowed only with a target, is "whsec_" followed by
// base64 of at least 24 bytes. The JSON-LD keys "@context" (top level),
// "id", "@id", "type" and "@type" are accepted (type and id must be
// strings); any other key is an error, so a misspelt "publish" does not
// silently grant nothing.
func ParseSubscriptions(data []byte) (*Subscriptions, error) {
	top, err := object(data)
	if err != nil {
		return nil, docErr("settings/subscriptions must be a JSON object")
	}
	var s Subscriptions
	for _, k := range sortedKeys(top) {
		v := top[k]
		switch k {
		case "@context":
			s.Context = slices.Clone(v)
		case "id", "@id":
			if !decodeString(v, &s.ID) {
				return nil, docErr("%s must be a string", k)
			}
		case "type", "@type":
			if !decodeString(v, &s.Type) {
				return nil, docErr("%s must be a string", k)
			}
		case "version":
			if !decodeString(v, &s.Version) || s.Version != SubscriptionsVersion {
				return nil, docErr("version must be %q", SubscriptionsVersion)
			}
		case "items":
		default:
			return nil, docErr("unknown field %q", k)
		}
	}
	var items []json.RawMessage
	if v, ok := top["items"]; ok {
		if err := json.Unmarshal(v, &items); err != nil {
			return nil, docErr("items must be an array")
		}
	}
	s.Items = make([]SubscriptionItem, 0, len(items))
	for i, raw := range items {
		it, err := parseItem(i, raw)
		if err != nil {
			return nil, err
		}
		s.Items = append(s.Items, it)
	}
	return &s, nil
}

func parseItem(i int, raw json.RawMessage) (SubscriptionItem, error) {
	var it SubscriptionItem
	fields, err := object(raw)
	if err != nil {
		return it, docErr("items[%d] must be an object", i)
	}
	for _, k := range sortedKeys(fields) {
		v := fields[k]
		var dst *string
		switch k {
		case "id", "@id":
			dst = &it.ID
		case "type", "@type":
			dst = &it.Type
		case "agent":
			dst = &it.Agent
		case "target":
			dst = &it.Target
		case "secret":
			dst = &it.Secret
		case "publishes", "subscribes":
			list, err := parsePatterns(i, k, v)
			if err != nil {
				return it, err
			}
			if k == "publishes" {
				it.Publishes = list
			} else {
				it.Subscribes = list
			}
			continue
		default:
			return it, docErr("items[%d]: unknown field %q", i, k)
		}
		if !decodeString(v, dst) {
			return it, docErr("items[%d].%s must be a string", i, k)
		}
	}
	switch {
	case it.Agent == "":
		return it, docErr("items[%d].agent is required", i)
	case !absoluteHTTP(it.Agent):
		return it, docErr("items[%d].agent must be an absolute http(s) URI", i)
	case len(it.Publishes) == 0 && len(it.Subscribes) == 0:
		return it, docErr("items[%d] needs publishes or subscribes", i)
	case it.Target != "" && !absoluteHTTP(it.Target):
		return it, docErr("items[%d].target must be an absolute http(s) URL", i)
	case it.Secret != "" && it.Target == "":
		return it, docErr("items[%d].secret is only allowed with a target", i)
	case it.Secret != "" && !validWebhookSecret(it.Secret):
		return it, docErr("items[%d].secret must be %q followed by base64 of at least %d bytes",
			i, webhookSecretPrefix, minWebhookSecret)
	}
	return it, nil
}

func parsePatterns(i int, field string, v json.RawMessage) ([]string, error) {
	var list []string
	if isNull(v) || json.Unmarshal(v, &list) != nil {
		return nil, docErr("items[%d].%s must be an array of strings", i, field)
	}
	for j, p := range list {
		if err := ValidatePattern(p); err != nil {
			return nil, &subscriptionsError{
				msg:   fmt.Sprintf("items[%d].%s[%d]: %v", i, field, j, err),
				cause: ErrInvalidPattern,
			}
		}
	}
	return list, nil
}

// object decodes data as a JSON object (not null) into its raw members.
func object(data []byte) (map[string]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeString decodes a JSON string (not null) into dst.
func decodeString(v json.RawMessage, dst *string) bool {
	return !isNull(v) && json.Unmarshal(v, dst) == nil
}

func isNull(v json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// absoluteHTTP reports whether s is an absolute http or https URL with a
// host and no spaces.
func absoluteHTTP(s string) bool {
	if strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	return u.Scheme == "http" || u.Scheme == "https"
}

// validWebhookSecret reports whether s is "whsec_" + base64 of at least
// minWebhookSecret bytes (padding optional).
func validWebhookSecret(s string) bool {
	b64, ok := strings.CutPrefix(s, webhookSecretPrefix)
	if !ok {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(b64)
	}
	return err == nil && len(raw) >= minWebhookSecret
}

// CanPublish reports whether agent may publish events with topic to the pod
// whose settings these are: some item of agent lists a matching publishes
// pattern. A nil Subscriptions allows nothing.
func (s *Subscriptions) CanPublish(agent, topic string) bool {
	if s == nil {
		return false
	}
	for i := range s.Items {
		it := &s.Items[i]
		if it.Agent != agent {
			continue
		}
		for _, p := range it.Publishes {
			if TopicMatches(p, topic) {
				return true
			}
		}
	}
	return false
}

// Subscribers returns the items with a subscribes pattern matching topic, in
// document order, keeping only the first item per agent and target.
func (s *Subscriptions) Subscribers(topic string) []SubscriptionItem {
	if s == nil {
		return nil
	}
	var out []SubscriptionItem
	seen := make(map[[2]string]bool)
	for _, it := range s.Items {
		if !slices.ContainsFunc(it.Subscribes, func(p string) bool { return TopicMatches(p, topic) }) {
			continue
		}
		k := [2]string{it.Agent, it.Target}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, it)
	}
	return out
}
