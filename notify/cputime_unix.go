//go:build unix

package notify

import (
	"syscall"
	"time"
)

// CPUTime returns the CPU time (user and system) this process has used,
// for the load test's reports.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
