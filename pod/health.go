package pod

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/store"
	"podserver/store/pgstore"
)

// healthPingTimeout bounds /healthz's check that the database answers.
const healthPingTimeout = 2 * time.Second

// msgStoreUnreachable is /healthz's store error while PostgreSQL cannot be
// reached.
const msgStoreUnreachable = "the database cannot be reached: requests get 503 until it can"

// msgDiskShort is /healthz's disk error while the store refuses writes.
const msgDiskShort = "the disk is nearly full: writes get 507 Insufficient Storage until space is freed; reads still work"

// healthz reports whether the server is up and, for a store that watches
// its disk, whether it accepts writes. A server short of disk space still
// answers 200 (it serves reads; restarting it would not free space) with
// status "degraded"; monitors alert on the body or on the
// podserver_store_disk_writable metric. On PostgreSQL it also checks that
// the database answers: while it does not, /healthz answers 503 with
// status "unavailable", as every request needing the store does.
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
	status := http.StatusOK
	if p, ok := s.st.(*pgstore.Store); ok {
		ctx, cancel := context.WithTimeout(c.Request.Context(), healthPingTimeout)
		err := p.Ping(ctx)
		cancel()
		db := gin.H{"reachable": err == nil}
		if err != nil {
			// Every request that needs the store gets 503 meanwhile: so
			// does the health check, for load balancers.
			body["status"] = "unavailable"
			db["error"] = msgStoreUnreachable
			status = http.StatusServiceUnavailable
		}
		body["store"] = db
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(status, body)
}
