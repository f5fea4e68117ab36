//go:build !linux

package pod_test

import "testing"

// freeBytes skips the test: the disk-full tests run on a Linux tmpfs only
// (mountTmpfs), and read its free space with statfs.
func freeBytes(t *testing.T, _ string) uint64 {
	t.Helper()
	t.Skip("the disk-full tests need Linux")
	return 0
}
