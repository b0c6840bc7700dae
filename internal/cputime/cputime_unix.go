//go:build unix

// Package cputime reads the CPU time the process has used. On a machine
// shared with other work, requests a second move with that work; the CPU
// time a request, which waiting for a core does not count, much less, so
// benchmarks report it beside their wall-clock figures.
package cputime

import (
	"runtime"
	"syscall"
	"time"
)

// Process is the CPU time the process has used, user and system, and
// whether the platform reports it.
func Process() (time.Duration, bool) {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0, false
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano()), true
}

// PeakRSS is the largest resident set size the process has had, in
// bytes, and whether the platform reports it (getrusage's ru_maxrss, which
// Linux gives in KiB).
func PeakRSS() (int64, bool) {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0, false
	}
	if runtime.GOOS == "darwin" {
		return u.Maxrss, true // bytes there
	}
	return u.Maxrss * 1024, true
}
