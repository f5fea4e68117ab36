//go:build !unix

package pod

// defaultMaxConns is Options.MaxConns's default where the limit on open
// files cannot be read.
func defaultMaxConns() int { return 16384 }
