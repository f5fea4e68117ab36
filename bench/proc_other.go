//go:build !unix

package bench

import "time"

// CPUTime returns 0: process CPU time is only read on Unix systems
// (getrusage); reports then show no CPU cost.
func CPUTime() time.Duration { return 0 }

// RaiseFileLimit does nothing: only Unix systems have a soft open-file
// limit (RLIMIT_NOFILE) to lift.
func RaiseFileLimit() {}
