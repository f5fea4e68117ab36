package pod

import "github.com/gin-gonic/gin"

// console serves the owner console. (Stub until the Owner console issue.)
type console struct{ s *Server }

func newConsole(s *Server) (*console, error) { return &console{s: s}, nil }

// top serves server-level console paths; it reports false for others.
func (c *console) top(g *gin.Context) (bool, error) { return false, nil }
