//go:build !unix

package patch

import "time"

// cpuTime is 0 where the process's CPU time is not read: the benchmark
// then reports no CPU time per patch.
func cpuTime() time.Duration { return 0 }
