package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/license"
)

// TestImportReconcile imports a file as an increment, reads its lateness,
// computes the issuer's digest of its numbers, and reconciles by digest
// and by file: the same list matches (exit 0), a list without one number
// does not (exit 1) and names it.
func TestImportReconcile(t *testing.T) {
	onEachStore(t, func(t *testing.T, cmd storeCmd, data, dsn string) {
		f := newImportFixture(t, cmd, data, dsn, 120)
		if code, _, errOut := f.run(f.file, "--increment"); code != ExitInvalid {
			t.Fatalf("import run: exit %d: %s", code, errOut)
		}
		now := time.Now().In(license.AggregationZone)
		code, out, errOut := cmd("import", "lateness", "--from", now.AddDate(0, -59, 0).Format("2006-01"), "--to", now.Format("2006-01"), "--json")
		var report api.LatenessReport
		if code != 0 || json.Unmarshal([]byte(out), &report) != nil {
			t.Fatalf("import lateness: exit %d: %s %s", code, out, errOut)
		}
		var counted int64
		for _, r := range report.Rows {
			if r.Kind != license.KindIncrement || r.Issuer != f.issuer {
				t.Fatalf("row %+v", r)
			}
			counted += r.OnTime + r.Late
		}
		if counted == 0 || counted > f.valid {
			t.Fatalf("%d licenses counted of %d imported", counted, f.valid)
		}

		ls, _ := f.licenses()
		var lines []string
		dropped := ""
		for n, l := range ls {
			lines = append(lines, fmt.Sprintf("%s,%d", n, l.Version))
			dropped = n
		}
		all := filepath.Join(t.TempDir(), "numbers.csv")
		writeFile(t, all, []byte("number,version\n"+strings.Join(lines, "\n")+"\n"))
		code, out, errOut = cmd("import", "digest", "--json", all)
		var tally api.Tally
		if code != 0 || json.Unmarshal([]byte(out), &tally) != nil || tally.Count != int64(len(ls)) {
			t.Fatalf("import digest: exit %d: %s %s", code, out, errOut)
		}
		reconcile := func(args ...string) (int, api.Reconciliation) {
			t.Helper()
			code, out, errOut := cmd(append([]string{"import", "reconcile", "--type", "BL0001", "--issuer", f.issuer, "--json"}, args...)...)
			var r api.Reconciliation
			if (code == 0 || code == ExitInvalid) && json.Unmarshal([]byte(out), &r) != nil {
				t.Fatalf("import reconcile printed %q (%s)", out, errOut)
			}
			return code, r
		}
		if code, r := reconcile("--count", fmt.Sprint(tally.Count), "--digest", tally.Digest); code != 0 || !r.Match {
			t.Fatalf("by digest: exit %d, %+v", code, r)
		}
		if code, r := reconcile("--file", all); code != 0 || !r.Match || !r.Listed {
			t.Fatalf("by file: exit %d, %+v", code, r)
		}
		short := filepath.Join(t.TempDir(), "short.csv")
		writeFile(t, short, []byte(strings.Join(slicesWithout(lines, dropped), "\n")))
		code, r := reconcile("--file", short)
		if code != ExitInvalid || r.Match || r.Extra != 1 || len(r.First) != 1 || r.First[0].Number != dropped {
			t.Fatalf("a number left out: exit %d, %+v", code, r)
		}
		if code, _, _ := cmd("import", "reconcile", "--type", "BL0001", "--issuer", f.issuer, "--file", all, "--digest", tally.Digest); code != ExitUsage {
			t.Fatalf("--file and --digest: exit %d", code)
		}
		if code, _, errOut := cmd("import", "reconcile", "--type", "BL0001", "--issuer", f.issuer, "--count", "-1", "--digest", "ab"); code != ExitUsage ||
			!strings.Contains(errOut, "count") || !strings.Contains(errOut, "digest") {
			t.Fatalf("a negative count and a short digest: exit %d: %s", code, errOut)
		}
	})
}

// slicesWithout returns the lines but the one of number.
func slicesWithout(lines []string, number string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(l, number+",") {
			out = append(out, l)
		}
	}
	return out
}
