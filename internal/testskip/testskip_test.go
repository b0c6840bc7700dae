package testskip

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestHelperMissing is run by TestMissing in a child process.
func TestHelperMissing(t *testing.T) {
	if os.Getenv("TESTSKIP_HELPER") != "1" {
		t.Skip("run by TestMissing")
	}
	Missing(t, "Frobnicator", "apt-get install frobnicator")
	t.Error("Missing returned")
}

// TestMissing: outside CI a missing service skips the test, with the
// reason; under CI=true it fails the test, naming the service.
func TestMissing(t *testing.T) {
	for _, tc := range []struct {
		ci       string
		fails    bool
		contains string
	}{
		{"", false, "--- SKIP: TestHelperMissing"},
		{"false", false, "Frobnicator is not available: apt-get install frobnicator"},
		{"true", true, "CI=true and Frobnicator is not available"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperMissing$", "-test.v") //nolint:gosec // G204: this test binary
		cmd.Env = append(os.Environ(), "TESTSKIP_HELPER=1", "CI="+tc.ci)
		out, err := cmd.CombinedOutput()
		if (err != nil) != tc.fails || !strings.Contains(string(out), tc.contains) {
			t.Errorf("CI=%q: err %v, output %q; want failure %v and %q", tc.ci, err, out, tc.fails, tc.contains)
		}
	}
}
