package pod_test

import (
	"os"
	"testing"

	"github.com/gin-gonic/gin"

	"podserver/store/pgstore/pgtest"
)

// pgCluster is the PostgreSQL cluster of the tests that run a server on
// PostgreSQL, started by the first of them.
var pgCluster = pgtest.New()

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	code := m.Run()
	pgCluster.Stop()
	os.Exit(code)
}
