package pod

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"podserver/store"
)

// msgDiskShort is /healthz's disk error while the store refuses writes.
const msgDiskShort = "the disk is nearly full: writes get 507 Insufficient Storage until space is freed; reads still work"

// healthz reports whether the server is up and, for a store that watches
// its disk, whether it accepts writes. A server short of disk space still
// answers 200 (it serves reads; restarting it would not free space) with
// status "degraded"; monitors alert on the body or on the
// podserver_store_disk_writable metric.
func (s *Server) healthz(c *gin.Context) {
	c.Set("route", routeHealth)
	body := gin.H{"status": "ok"}
	if sr, ok := s.st.(store.SpaceReporter); ok && !s.opts.InMemory {
		sp := sr.Space()
		disk := gin.H{"writable": sp.Writable, "free_bytes": sp.Free, "reserve_bytes": sp.Reserve, "refused_writes": sp.Refused}
		if !sp.Writable {
			body["status"] = "degraded"
			disk["error"] = msgDiskShort
		}
		body["disk"] = disk
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, body)
}
