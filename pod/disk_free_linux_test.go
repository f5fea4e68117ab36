package pod_test

import (
	"syscall"
	"testing"
)

// freeBytes is the space left to unprivileged writers on dir's file system.
func freeBytes(t *testing.T, dir string) uint64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return st.Bavail * uint64(st.Bsize)
}
