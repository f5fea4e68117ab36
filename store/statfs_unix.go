//go:build linux || darwin

package store

import (
	"fmt"
	"syscall"
)

// statfs returns the bytes available to unprivileged writers on the
// filesystem holding dir (f_bavail × f_bsize).
func statfs(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
