package cli

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/cputime"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestBenchHTTP runs the bench briefly against its own demo and checks the
// shape of its JSON and that the figures are sane. It measures nothing
// itself: the figures are read by people, as ratios.
func TestBenchHTTP(t *testing.T) {
	code, out, errOut := run(t, "bench", "http", "--json", "--duration", "300ms", "--requests", "2000", "--connections", "4")
	if code != 0 {
		t.Fatalf("bench: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	_, cpu := cputime.Process() // the platform reports CPU time: every line has it
	var names []string
	for _, l := range lines {
		var raw map[string]any
		if err := json.Unmarshal([]byte(l), &raw); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		keys := make([]string, 0, len(raw))
		for k := range raw {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := []string{"baseline", "baseline_cpu_us_per_req", "baseline_req_per_s", "cpu_ratio", "cpu_us_per_req", "endpoint", "p50_ms", "p99_ms", "ratio", "req_per_s"}
		if !cpu {
			want = slices.DeleteFunc(want, func(k string) bool { return strings.Contains(k, "cpu") })
		}
		if !slices.Equal(keys, want) {
			t.Fatalf("keys %v, want %v", keys, want)
		}
		var r benchResult
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		names = append(names, r.Endpoint)
		wantBase := baselineBare
		if r.Endpoint == "verify" {
			wantBase = baselineSM2
		}
		switch {
		case r.Baseline != wantBase:
			t.Errorf("%s: baseline %q, want %q", r.Endpoint, r.Baseline, wantBase)
		case r.ReqPerS <= 0 || r.BaselineReqPerS <= 0:
			t.Errorf("%s: no throughput: %+v", r.Endpoint, r)
		case r.P50ms <= 0 || r.P50ms > r.P99ms || r.P99ms > 30_000:
			t.Errorf("%s: latencies out of order or absurd: %+v", r.Endpoint, r)
		case r.Ratio <= 0 || r.Ratio-r.ReqPerS/r.BaselineReqPerS > 0.01 || r.ReqPerS/r.BaselineReqPerS-r.Ratio > 0.01:
			t.Errorf("%s: ratio %v is not req_per_s/baseline_req_per_s", r.Endpoint, r.Ratio)
		case cpu && r.CPUusPerReq <= 0 || r.BaselineCPUusPerReq <= 0 || r.CPURatio <= 0 ||
			math.Abs(r.CPURatio-r.BaselineCPUusPerReq/r.CPUusPerReq) > 0.01:
			t.Errorf("%s: CPU time a request missing or inconsistent: %+v", r.Endpoint, r)
		case r.ReqPerS > 1e6 || r.BaselineReqPerS > 1e6:
			t.Errorf("%s: more than a million requests a second over loopback: %+v", r.Endpoint, r)
		}
	}
	if want := []string{"me", "healthz", "verify"}; !slices.Equal(names, want) {
		t.Fatalf("endpoints %v, want %v", names, want)
	}
}

// TestBenchHTTPUse drives the scoped use of a license briefly against the
// bench's own demo, on the embedded store and, with --db, on PostgreSQL:
// each use must return the demo's license (the bench fails on any other
// answer), and it is set beside the platform's bare authenticated handler.
func TestBenchHTTPUse(t *testing.T) {
	stores := [][]string{nil}
	if os.Getenv(storetest.EnvPostgres) != "" {
		stores = append(stores, []string{"--db", storetest.PostgresDSN(t)})
	}
	for _, db := range stores {
		args := append([]string{"bench", "http", "--json", "--endpoints", "use", "--duration", "300ms", "--requests", "300", "--connections", "4"}, db...)
		code, out, errOut := run(t, args...)
		if code != 0 {
			t.Fatalf("bench %v: exit %d: %s", db, code, errOut)
		}
		var r benchResult
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &r); err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		if r.Endpoint != "use" || r.Baseline != baselineMe || r.ReqPerS <= 0 || r.BaselineReqPerS <= 0 || r.Ratio <= 0 {
			t.Errorf("bench %v: %+v", db, r)
		}
	}
}

// TestBenchHTTPProfile: --cpuprofile writes one profile an endpoint
// when several are driven, and the file itself when one is.
func TestBenchHTTPProfile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		endpoints string
		files     []string
	}{
		{"me,healthz", []string{"two.prof.me", "two.prof.healthz"}},
		{"healthz", []string{"one.prof"}},
	} {
		prefix := filepath.Join(dir, strings.TrimSuffix(c.files[0], "."+strings.Split(c.endpoints, ",")[0]))
		code, _, errOut := run(t, "bench", "http", "--json", "--endpoints", c.endpoints, "--duration", "200ms",
			"--requests", "500", "--connections", "2", "--cpuprofile", prefix)
		if code != 0 {
			t.Fatalf("bench %s: exit %d: %s", c.endpoints, code, errOut)
		}
		for _, f := range c.files {
			if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
				t.Errorf("bench %s: profile %s: %v", c.endpoints, f, err)
			}
		}
	}
}

func TestBenchHTTPRefuses(t *testing.T) {
	for _, args := range [][]string{
		{"--endpoints", "nope"},
		{"--connections", "0"},
		{"--duration", "0s"},
		{"--url", "http://127.0.0.1:1", "--endpoints", "me"},
		{"--url", "http://127.0.0.1:1", "--endpoints", "verify", "--token", "zz_x"},
		{"--url", "http://127.0.0.1:1", "--endpoints", "use", "--token", "zz_x"},
		{"--url", "http://127.0.0.1:1", "--endpoints", "me", "--token", "zz_x", "--db", "postgres://localhost/x"},
	} {
		if code, _, errOut := run(t, append([]string{"bench", "http"}, args...)...); code != ExitUsage || errOut == "" {
			t.Errorf("bench http %v: exit %d (%q), want %d with a reason", args, code, errOut, ExitUsage)
		}
	}
}
