package pod

import (
	"github.com/gin-gonic/gin"

	webconsole "podserver/console"
)

// routeConsole labels console requests in logs and metrics.
const routeConsole = "console"

// console serves the owner console (package console) at /console/. The
// console is a client of the pod API: it needs nothing from the server but
// its files and the base URL and naming mode.
type console struct {
	s *Server
	h *webconsole.Handler
}

func newConsole(s *Server) (*console, error) {
	h, err := webconsole.New(webconsole.Config{Info: func() webconsole.Info {
		return webconsole.Info{BaseURL: s.BaseURL(), PodNaming: s.urls.Mode()}
	}})
	if err != nil {
		return nil, err
	}
	return &console{s: s, h: h}, nil
}

// top serves server-level console paths; it reports false for others.
func (c *console) top(g *gin.Context) (bool, error) {
	if !webconsole.Owns(g.Request.URL.Path) {
		return false, nil
	}
	g.Set("route", routeConsole)
	return true, c.h.Serve(g.Writer, g.Request)
}

// ConsoleURL returns the URL of the owner console.
func (s *Server) ConsoleURL() string { return s.BaseURL() + webconsole.Path }
