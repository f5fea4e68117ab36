//go:build unix

package pod

import "syscall"

// defaultMaxConns is Options.MaxConns's default: the soft limit on open
// files less 1,024 kept for the store's files and outgoing requests, at
// least 256.
func defaultMaxConns() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 || rl.Cur > 1<<30 {
		return 16384
	}
	return max(int(rl.Cur)-1024, 256)
}
