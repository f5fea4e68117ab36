package pod

// CloseQueue closes s's delivery queue, as if s ran none: records that s
// enqueues are attempted by other nodes sharing its store. For tests.
func CloseQueue(s *Server) { s.ev.queue.Close() }
