package pod

import (
	"github.com/gin-gonic/gin"

	"podserver/ldp"
)

// events wires publishing and inboxes into the server.
type events struct{ s *Server }

func newEvents(s *Server) (*events, error) { return &events{s: s}, nil }

// route serves the requests that publish/ and inbox/ handle themselves. It
// reports false for requests the generic LDP handler serves.
func (e *events) route(c *gin.Context, r *ldp.Request) (bool, error) { return false, nil }

// close stops background work.
func (e *events) close() {}
