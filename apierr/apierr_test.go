package apierr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/gin-gonic/gin"

	"podserver/store"
)

// TestWrite checks the status, body and headers Write sends for each kind
// of error.
func TestWrite(t *testing.T) {
	gin.SetMode(gin.TestMode)
	tests := []struct {
		name       string
		err        error
		status     int
		msg        string
		retryAfter string
	}{
		{"a full disk, wrapped", fmt.Errorf("publish: store: %w", fmt.Errorf("store: not enough free disk space: %w", syscall.ENOSPC)),
			http.StatusInsufficientStorage, MsgInsufficientStorage, "60"},
		{"the named 507", InsufficientStorage(), http.StatusInsufficientStorage, MsgInsufficientStorage, "60"},
		{"an explicit status wins over ENOSPC", Wrap(http.StatusBadRequest, "bad body", syscall.ENOSPC),
			http.StatusBadRequest, "bad body", ""},
		{"an unreachable database, wrapped", fmt.Errorf("ldp: get: %w", fmt.Errorf("pgstore: connect: %w: dial tcp: refused", store.ErrUnavailable)),
			http.StatusServiceUnavailable, MsgUnavailable, "5"},
		{"a deadline is a bare 503", context.DeadlineExceeded, http.StatusServiceUnavailable, "internal server error", ""},
		{"an unknown error", errors.New("boom"), http.StatusInternalServerError, "internal server error", ""},
		{"a not found", NotFound(), http.StatusNotFound, "Not found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(rec)
			c.Request = httptest.NewRequest(http.MethodPut, "/p/x", nil)
			Write(c, nil, tt.err)
			if rec.Code != tt.status {
				t.Errorf("status = %d, want %d", rec.Code, tt.status)
			}
			var body struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error != tt.msg {
				t.Errorf("body = %s (%v), want error %q", rec.Body, err, tt.msg)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
		})
	}
}
