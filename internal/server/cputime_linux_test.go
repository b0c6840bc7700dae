package server_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the process has used, and whether the
// platform reports it: on a machine shared with other work, CPU time per
// request bounds throughput where wall-clock time mostly measures the
// other work.
func processCPU() (time.Duration, bool) {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0, false
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano()), true
}
