package pod

import (
	"github.com/gin-gonic/gin"

	"podserver/ldp"
	"podserver/store"
)

// notifier serves Solid Notifications. (Stub until the Live updates issue.)
type notifier struct{ s *Server }

func newNotifier(s *Server) (*notifier, error) { return &notifier{s: s}, nil }

// route serves pod-level notification requests (e.g. the storage
// description); it reports false for everything else.
func (n *notifier) route(c *gin.Context, r *ldp.Request) (bool, error) { return false, nil }

// top serves server-level notification endpoints.
func (n *notifier) top(c *gin.Context) (bool, error) { return false, nil }

// headers adds notification discovery headers to LDP responses.
func (n *notifier) headers(c *gin.Context, r *ldp.Request, p string) {}

// onChange receives every durable resource write (store.PrefixResource keys).
func (n *notifier) onChange(changes []store.Change) {}

// close stops background work.
func (n *notifier) close() {}
