//go:build !linux && !darwin

package store

import "errors"

// errNoStatfs is returned by statfs on platforms without it.
var errNoStatfs = errors.New("statfs is not supported on this platform")

// statfs is not implemented here: the free-space reserve is not enforced
// (the store logs this once).
func statfs(string) (uint64, error) { return 0, errNoStatfs }
