package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/importer/gen"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// importFixture is a seeded store, its issuer and a generated file.
type importFixture struct {
	t           *testing.T
	cmd         storeCmd
	data, dsn   string
	issuer      string
	file        string
	read, valid int64 // the rows of the file, and the valid ones (import check)
}

func newImportFixture(t *testing.T, cmd storeCmd, data, dsn string, n int) importFixture {
	t.Helper()
	issuer, _ := seedIssuer(t, cmd, data, dsn)
	f := importFixture{t: t, cmd: cmd, data: data, dsn: dsn, issuer: issuer}
	if code, _, errOut := cmd("token", "create", "--role", "issuer", "--org", issuer); code != 0 {
		t.Fatalf("token create: %s", errOut)
	}
	f.file = genFile(t, t.TempDir(), "licenses.csv", n, 0.05, func(g *gen.Generator, w *os.File, n int) error {
		return g.WriteCSV(w, n, gen.CSVOptions{})
	})
	code, out, errOut := cmd("import", "check", "--type", "BL0001", "--json", f.file)
	if code != ExitInvalid {
		t.Fatalf("import check: exit %d: %s", code, errOut)
	}
	var res importResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	f.read, f.valid = res.Summary.Read, res.Summary.Valid
	if f.valid == 0 || f.valid == f.read {
		t.Fatalf("the file should have valid and rejected rows: %+v", res.Summary)
	}
	return f
}

// run imports file, and returns the printed result.
func (f importFixture) run(file string, args ...string) (int, importResult, string) {
	f.t.Helper()
	code, out, errOut := f.cmd(append([]string{"import", "run", "--type", "BL0001", "--issuer", f.issuer, "--json", file}, args...)...)
	var res importResult
	if code == 0 || code == ExitInvalid {
		if err := json.Unmarshal([]byte(out), &res); err != nil && out != "" {
			f.t.Fatalf("import run printed %q: %v (%s)", out, err, errOut)
		}
	}
	return code, res, errOut
}

// licenses reads every license of the store, each number once, and the
// audit entries of the imports.
func (f importFixture) licenses() (map[string]license.License, []auditlog.Entry) {
	f.t.Helper()
	out := map[string]license.License{}
	var entries []auditlog.Entry
	err := onStorePlatform(f.t, f.data, f.dsn, func(ctx context.Context, p *platform.Platform) error {
		after := ""
		for {
			ls, err := p.DB.ListLicenses(ctx, license.Filter{After: after, Limit: 1000})
			if err != nil {
				return err
			}
			for _, l := range ls {
				if _, dup := out[l.Number]; dup {
					return fmt.Errorf("number %s twice", l.Number)
				}
				out[l.Number] = l
				after = l.ID
			}
			if len(ls) < 1000 {
				break
			}
		}
		tree, err := p.DB.AuditTree(ctx)
		if err != nil {
			return err
		}
		all, _, err := p.DB.AuditEntries(ctx, 0, tree.Size)
		if err != nil {
			return err
		}
		pending, err := p.DB.AuditPending(ctx, "", 1_000_000)
		for _, e := range append(all, pending...) {
			if strings.HasPrefix(e.Action, "license.") && e.Action != license.ReadAction && e.Action != license.RefusedAction {
				entries = append(entries, e)
			}
		}
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out, entries
}

// count is the entries of each action.
func count(entries []auditlog.Entry) map[string]int {
	out := map[string]int{}
	for _, e := range entries {
		out[e.Action]++
	}
	return out
}

// TestImportRun imports a generated file (5% bad rows) on both stores:
// every valid row becomes one license and every bad one is reported;
// the audit log has one entry per batch, not per license; importing the
// file again changes nothing; a file with one changed row gives that
// license a second version and leaves the others.
func TestImportRun(t *testing.T) {
	onEachStore(t, func(t *testing.T, cmd storeCmd, data, dsn string) {
		f := newImportFixture(t, cmd, data, dsn, 600)
		// A header the mapping does not fit is refused before a job
		// exists (the audit counts below have one start).
		bad := filepath.Join(t.TempDir(), "bad.csv")
		writeFile(t, bad, []byte("number,colour\nA-1,red\n"))
		if code, _, errOut := f.run(bad); code != ExitUsage || !strings.Contains(errOut, "header[1]") {
			t.Fatalf("a header the mapping does not fit: exit %d: %s", code, errOut)
		}
		report := filepath.Join(t.TempDir(), "report.csv")
		code, res, errOut := f.run(f.file, "--batch", "100", "--report", report)
		if code != ExitInvalid {
			t.Fatalf("import run: exit %d: %s", code, errOut)
		}
		s := res.Summary
		if s.Read != f.read || s.Imported != f.valid || s.Rejected != f.read-f.valid || s.Unchanged != 0 || s.Versioned != 0 {
			t.Fatalf("summary %+v, want %d read, %d imported, %d rejected: %s", s, f.read, f.valid, f.read-f.valid, errOut)
		}
		rep, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		if lines := bytes.Count(rep, []byte("\n")) - 1; int64(lines) < s.Rejected {
			t.Errorf("the report has %d problems for %d rejected rows", lines, s.Rejected)
		}
		ls, entries := f.licenses()
		if int64(len(ls)) != f.valid {
			t.Fatalf("%d licenses in the store, want %d", len(ls), f.valid)
		}
		batches := int((f.read + 99) / 100)
		want := map[string]int{"license.import.start": 1, "license.import.batch": batches, "license.import.done": 1}
		if got := count(entries); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("audit entries %v, want %v (one per batch, none per license)", got, want)
		}

		// The same file again: a new job, every row unchanged.
		code, res, errOut = f.run(f.file, "--batch", "100")
		if s := res.Summary; code != ExitInvalid || s.Imported != 0 || s.Unchanged != f.valid || s.Rejected != f.read-f.valid {
			t.Fatalf("import run again: exit %d, %+v: %s", code, res.Summary, errOut)
		}
		if again, _ := f.licenses(); len(again) != len(ls) {
			t.Fatalf("%d licenses after the second run, want %d", len(again), len(ls))
		}

		// One row changed: that license gets version 2.
		raw, err := os.ReadFile(f.file)
		if err != nil {
			t.Fatal(err)
		}
		var changed string
		for number, l := range ls {
			if l.Version == 1 {
				changed = number
				break
			}
		}
		lines := strings.Split(string(raw), "\n")
		for i, line := range lines {
			if strings.HasPrefix(line, changed+",") {
				// The validity start moves a day earlier: only the license's
				// content changes, not its holder.
				cells := strings.Split(line, ",")
				day, err := time.Parse(time.DateOnly, cells[1])
				if err != nil {
					t.Fatal(err)
				}
				cells[1] = day.AddDate(0, 0, -1).Format(time.DateOnly)
				lines[i] = strings.Join(cells, ",")
			}
		}
		file2 := filepath.Join(t.TempDir(), "licenses-2.csv")
		writeFile(t, file2, []byte(strings.Join(lines, "\n")))
		code, res, errOut = f.run(file2, "--batch", "100")
		if s := res.Summary; code != ExitInvalid || s.Imported != 0 || s.Versioned != 1 || s.Unchanged != f.valid-1 {
			t.Fatalf("import run of a changed row: exit %d, %+v: %s", code, res.Summary, errOut)
		}
		after, _ := f.licenses()
		if l := after[changed]; len(after) != len(ls) || l.Version != 2 || l.ID != ls[changed].ID || !l.ValidFrom.Before(ls[changed].ValidFrom) {
			t.Fatalf("license %s after the change: %+v (was %+v)", changed, l, ls[changed])
		}
	})
}

// importProcess starts import run as a process of its own.
func (f importFixture) importProcess(args ...string) (*exec.Cmd, *syncBuffer) {
	f.t.Helper()
	all := append([]string{"import", "run", "--type", "BL0001", "--issuer", f.issuer, "--data", f.data, "--lang", "en", f.file}, args...)
	if f.dsn != "" {
		all = append(all, "--db", f.dsn)
	}
	raw, err := json.Marshal(all)
	if err != nil {
		f.t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$") //nolint:gosec // G204: the test binary itself, re-run as import run
	cmd.Env = append(os.Environ(), envServe+"="+string(raw))
	errOut := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = io.Discard, errOut
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	return cmd, errOut
}

// checkpoint reads the checkpoint of the file's unfinished job, -1 when
// there is none yet.
func (f importFixture) checkpoint(p *platform.Platform) int64 {
	f.t.Helper()
	raw, err := os.ReadFile(f.file)
	if err != nil {
		f.t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	j, err := p.DB.UnfinishedImport(context.Background(), f.issuer, "BL0001", hex.EncodeToString(sum[:]), "")
	switch {
	case errors.Is(err, apperr.NotFound):
		return -1
	case err != nil:
		f.t.Fatal(err)
	}
	return j.Checkpoint
}

// TestImportKill9Resumes kills import run processes with SIGKILL at
// several points (before its first batch commits, and after some batches)
// on both stores, interrupts one more with SIGINT (the job is left
// cancelled), then runs the same command to its end: the store ends
// with exactly one license per valid row, each number once at version 1,
// the job done with counts that add up, and one batch entry in the audit
// log per batch committed.
func TestImportKill9Resumes(t *testing.T) {
	onEachStore(t, func(t *testing.T, cmd storeCmd, data, dsn string) {
		f := newImportFixture(t, cmd, data, dsn, 2000)
		err := onStorePlatform(t, data, dsn, func(ctx context.Context, p *platform.Platform) error {
			for i, at := range []int64{0, 300, 1100} {
				c, errOut := f.importProcess("--batch", "50")
				deadline := time.Now().Add(time.Minute)
				for f.checkpoint(p) < at && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				// A little later each time: inside a batch's transaction or
				// between two.
				time.Sleep(time.Duration(i*7) * time.Millisecond)
				if err := c.Process.Kill(); err != nil {
					return err
				}
				err := c.Wait()
				t.Logf("kill %d at checkpoint >= %d: the job was at %d (%v)", i, at, f.checkpoint(p), err)
				if got := f.checkpoint(p); got >= f.read {
					return fmt.Errorf("the import ended before kill %d (%s)", i, errOut.String())
				}
			}
			// Ctrl-C: the run stops cleanly, the job cancelled where its
			// last batch ended.
			c, errOut := f.importProcess("--batch", "50")
			deadline := time.Now().Add(time.Minute)
			for f.checkpoint(p) < 1200 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if err := c.Process.Signal(os.Interrupt); err != nil {
				return err
			}
			var exit *exec.ExitError
			if err := c.Wait(); !errors.As(err, &exit) || exit.ExitCode() != ExitInvalid || !strings.Contains(errOut.String(), "cancelled after row") {
				return fmt.Errorf("interrupted run: %v: %s", err, errOut.String())
			}
			raw, err := os.ReadFile(f.file)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(raw)
			if j, err := p.DB.UnfinishedImport(ctx, f.issuer, "BL0001", hex.EncodeToString(sum[:]), ""); err != nil || j.State != license.ImportCancelled {
				return fmt.Errorf("after Ctrl-C the job is %+v (%v)", j, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		code, res, errOut := f.run(f.file, "--batch", "50")
		if s := res.Summary; code != ExitInvalid || s.Read != f.read || s.Imported != f.valid || s.Rejected != f.read-f.valid || s.Unchanged != 0 {
			t.Fatalf("resumed run: exit %d, %+v, want %d imported: %s", code, res.Summary, f.valid, errOut)
		}
		if !strings.Contains(errOut, "resuming import "+res.Job) {
			t.Errorf("the last run did not resume job %s: %s", res.Job, errOut)
		}
		ls, entries := f.licenses()
		if int64(len(ls)) != f.valid {
			t.Fatalf("%d licenses, want exactly %d", len(ls), f.valid)
		}
		for n, l := range ls {
			if l.Version != 1 {
				t.Fatalf("license %s at version %d", n, l.Version)
			}
		}
		got := count(entries)
		if want := int((f.read + 49) / 50); got["license.import.batch"] != want || got["license.import.start"] != 1 || got["license.import.done"] != 1 {
			t.Errorf("audit entries %v, want %d batches, one start, one done", got, want)
		}
	})
}

// TestBenchImport runs bench import small on both stores: every generated
// row becomes a license, and both rates and the memory are measured.
func TestBenchImport(t *testing.T) {
	for _, postgres := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[postgres], func(t *testing.T) {
			profile := filepath.Join(t.TempDir(), "cpu.prof")
			args := []string{"bench", "import", "--n", "40", "--batch", "16", "--json", "--lang", "en", "--cpuprofile", profile}
			if postgres {
				args = append(args, "--db", storetest.PostgresDSN(t))
			}
			code, out, errOut := run(t, args...)
			var res benchImportResult
			if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
				t.Fatalf("exit %d: %s %s", code, out, errOut)
			}
			if want := map[bool]string{false: "sqlite", true: "postgres"}[postgres]; res.Store != want || res.N != 40 || res.Imported != 40 ||
				res.PerS <= 0 || res.Baseline <= 0 || res.PeakRSS <= 0 || res.Sign != "batch" || res.CPUPerLicense <= 0 || res.BaselineCPU <= 0 {
				t.Errorf("result %+v", res)
			}
			if fi, err := os.Stat(profile); err != nil || fi.Size() == 0 {
				t.Errorf("CPU profile: %v", err)
			}
		})
	}
}
