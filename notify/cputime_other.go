//go:build !unix

package notify

import "time"

// CPUTime returns 0: process CPU time is only read on Unix systems.
func CPUTime() time.Duration { return 0 }
