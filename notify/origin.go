package notify

import (
	"github.com/gin-gonic/gin"

	"podserver/ldp"
)

// originDescriptionPath is the server description at the origin root, for
// clients that look for /.well-known/solid there and nowhere else. In path
// naming the pods' own storage descriptions are at /{pod}/.well-known/solid;
// in subdomain naming this one answers on the server's own host.
const originDescriptionPath = "/" + descriptionPath

// originContext is the inline JSON-LD context of the server description:
// a processor needs nothing it has to fetch.
var originContext = map[string]any{
	"pim":                "http://www.w3.org/ns/pim/space#",
	"solid":              "http://www.w3.org/ns/solid/terms#",
	"dcterms":            "http://purl.org/dc/terms/",
	"title":              "dcterms:title",
	"storage":            map[string]string{"@id": "pim:storage", "@type": "@id"},
	"storageDescription": map[string]string{"@id": "solid:storageDescription", "@type": "@id"},
	"owner":              map[string]string{"@id": "solid:owner", "@type": "@id"},
}

// originJSON is the server description: the server (its origin root URL)
// and the storage of every pod, each with its storage description and
// owner.
type originJSON struct {
	Context map[string]any `json:"@context"`
	ID      string         `json:"@id"`
	Title   string         `json:"title"`
	Storage []storageJSON  `json:"storage"`
}

// storageJSON describes one pod's storage.
type storageJSON struct {
	ID                 string `json:"@id"`
	Type               string `json:"@type"`
	StorageDescription string `json:"storageDescription"`
	Owner              string `json:"owner"`
}

// serveOrigin answers /.well-known/solid at the origin root: JSON-LD, or
// Turtle, N-Triples or N-Quads on request. It lists every pod, so its
// size grows with their number (about 250 bytes of JSON-LD a pod).
func (n *Notifier) serveOrigin(c *gin.Context) error {
	c.Header("Updates-Via", n.legacyURL())
	return n.serveDocument(c, "OPTIONS, HEAD, GET", func() (any, error) {
		pods, err := ldp.ListPods(c.Request.Context(), n.cfg.Store)
		if err != nil {
			return nil, err
		}
		d := originJSON{Context: originContext, ID: n.cfg.URLs.Base() + "/", Title: "podserver", Storage: []storageJSON{}}
		for _, p := range pods {
			root := n.cfg.URLs.PodRoot(p.Name)
			d.Storage = append(d.Storage, storageJSON{
				ID: root, Type: "pim:Storage", StorageDescription: root + descriptionPath, Owner: n.cfg.URLs.WebID(p.Name),
			})
		}
		return d, nil
	})
}
