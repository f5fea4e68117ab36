//go:build !linux && !darwin

package store

// statfs is not implemented here: the free-space reserve is not enforced
// (the store logs this once).
func statfs(string) (uint64, error) { return 0, errNoStatfs }
