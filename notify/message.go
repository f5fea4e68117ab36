package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"podserver/rdf"
)

// ActivityStreams activity types of notifications.
const (
	ActCreate = "Create"
	ActUpdate = "Update"
	ActDelete = "Delete"
	ActAdd    = "Add"
	ActRemove = "Remove"
)

// messageContext is the @context of every notification.
var messageContext = []string{rdf.ActivityStreamsContextURI, rdf.NotificationContextURI}

// Message is one notification. The dispatcher builds it once per change
// and topic and shares it, with its encodings, among every channel it goes
// to.
type Message struct {
	// ID identifies the notification (urn:uuid:...).
	ID string
	// Type is the activity: ActCreate, ActUpdate, ActDelete on a resource,
	// ActAdd, ActRemove on a container.
	Type string
	// Object is the URL of the resource the activity is about; for Add and
	// Remove the member.
	Object string
	// Target is the container of Add and Remove ("" otherwise).
	Target string
	// State is the object's new ETag; for a Remove the container's (the
	// object is gone); "" for a Delete.
	State string
	// Published is when the change happened.
	Published time.Time

	mu  sync.Mutex
	enc map[string][]byte
}

func newMessage(typ, object, target, state string, published time.Time) *Message {
	return &Message{ID: "urn:uuid:" + uuid.NewString(), Type: typ, Object: object, Target: target, State: state, Published: published.UTC()}
}

// messageJSON fixes the field order of the JSON-LD form.
type messageJSON struct {
	Context   []string `json:"@context"`
	ID        string   `json:"id"`
	Type      string   `json:"type"`
	Object    string   `json:"object"`
	Target    string   `json:"target,omitempty"`
	State     string   `json:"state,omitempty"`
	Published string   `json:"published"`
}

// JSON returns the message as JSON-LD.
func (m *Message) JSON() []byte {
	b, _ := m.Encode(rdf.MediaTypeJSONLD)
	return b
}

// Encode returns the message in media type mt (one that negotiateAccept
// returns). Encodings are made once and cached.
func (m *Message) Encode(mt string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := m.enc[mt]; ok {
		return b, nil
	}
	if m.enc == nil {
		m.enc = make(map[string][]byte, 1)
	}
	js, ok := m.enc[rdf.MediaTypeJSONLD]
	if !ok {
		var err error
		js, err = json.Marshal(messageJSON{
			Context: messageContext, ID: m.ID, Type: m.Type, Object: m.Object,
			Target: m.Target, State: m.State, Published: m.Published.Format("2006-01-02T15:04:05.000Z07:00"),
		})
		if err != nil {
			return nil, err
		}
		m.enc[rdf.MediaTypeJSONLD] = js
	}
	if mt == rdf.MediaTypeJSONLD {
		return js, nil
	}
	q, err := rdf.Parse(rdf.MediaTypeJSONLD, js, "")
	if err != nil {
		return nil, fmt.Errorf("notification as RDF: %w", err)
	}
	var buf bytes.Buffer
	if err := rdf.Write(&buf, mt, q, ""); err != nil {
		return nil, fmt.Errorf("notification as %s: %w", mt, err)
	}
	m.enc[mt] = buf.Bytes()
	return buf.Bytes(), nil
}

// acceptOffers are the media types notifications can be sent in, the
// default first. application/json is JSON-LD.
var acceptOffers = append(rdf.MediaTypes(), rdf.MediaTypeJSON)

// negotiateAccept picks the media type of notifications for an accept
// feature ("" is JSON-LD).
func negotiateAccept(accept string) (string, bool) {
	mt, ok := rdf.Negotiate(accept, acceptOffers)
	if mt == rdf.MediaTypeJSON {
		mt = rdf.MediaTypeJSONLD
	}
	return mt, ok
}
