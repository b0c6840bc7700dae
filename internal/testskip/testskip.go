// Package testskip is how a test says that a service it needs (PostgreSQL,
// NATS, SoftHSM2) is missing. Outside CI the test skips, and says so where a
// person sees it: go test prints nothing of a passing package, skip messages
// included, so the warning goes to the terminal (/dev/tty) once per test
// binary and per service. Under CI=true a missing service fails the test: a
// green CI run has tested every backend.
package testskip

import (
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
)

// warned keeps each service's terminal warning to one per test binary.
var warned sync.Map

// Missing skips t, or fails it under CI=true, because service is not
// available; how says how to provide it.
func Missing(t testing.TB, service, how string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s is not available: %s", service, how)
	}
	if _, done := warned.LoadOrStore(service, true); !done {
		warn(fmt.Sprintf("*** %s is not available: its tests are SKIPPED (%s) ***\n", service, how))
	}
	t.Skipf("%s is not available: %s", service, how)
}

// warn writes msg to the terminal when there is one, else to stderr (shown
// with -v, or when the package fails).
func warn(msg string) {
	var w io.Writer = os.Stderr
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		w = tty
	}
	fmt.Fprint(w, msg)
}
