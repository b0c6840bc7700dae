//go:build !unix

// Package cputime reads the CPU time the process has used; this platform
// does not report it.
package cputime

import "time"

// Process is not measured on this platform.
func Process() (time.Duration, bool) { return 0, false }

// PeakRSS is not measured on this platform.
func PeakRSS() (int64, bool) { return 0, false }
