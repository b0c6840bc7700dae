package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/importer"
	"github.com/zhengzhao/zhengzhao/internal/importer/gen"
	"github.com/zhengzhao/zhengzhao/internal/platform"
)

// genFile writes n generated business-license rows to a file of dir.
func genFile(t *testing.T, dir, name string, n int, bad float64, write func(*gen.Generator, *os.File, int) error) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(gen.New(gen.Options{Seed: 11, BadFraction: bad}), f, n); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestImportCheck checks generated files against the shipped business
// license: exit 0 when every row is valid, 1 with rejected rows (printed,
// or written to the report), 2 for a file, mapping or flag that is wrong.
func TestImportCheck(t *testing.T) {
	dir := t.TempDir()
	good := genFile(t, dir, "good.xlsx", 300, 0, func(g *gen.Generator, f *os.File, n int) error { return g.WriteXLSX(f, n) })
	bad := genFile(t, dir, "bad.csv", 1000, 0.2, func(g *gen.Generator, f *os.File, n int) error {
		return g.WriteCSV(f, n, gen.CSVOptions{GB18030: true})
	})
	check := func(args ...string) (int, string, string) {
		return run(t, append([]string{"import", "check", "--type", "BL0001", "--shipped", "--lang", "en"}, args...)...)
	}

	if code, out, errOut := check(good); code != 0 || !strings.Contains(out, "300 rows read (utf-8): 300 valid, 0 rejected") {
		t.Fatalf("good workbook: exit %d %q %q", code, out, errOut)
	}
	code, out, errOut := check(bad)
	if code != ExitInvalid || !strings.Contains(out, "(gb18030)") || !strings.Contains(out, "more problems") || strings.Count(out, "\nrow ") < 19 {
		t.Fatalf("bad csv: exit %d %q %q", code, out, errOut)
	}
	var res importResult
	code, out, _ = check("--json", "--show", "5", bad)
	if code != ExitInvalid || json.Unmarshal([]byte(out), &res) != nil || res.Summary.Read != 1000 || res.Summary.Rejected == 0 ||
		len(res.Problems) != 5 || res.More != res.Summary.Problems-5 {
		t.Fatalf("--json: exit %d %q", code, out)
	}
	report := filepath.Join(dir, "problems.csv")
	if code, _, _ := check("--report", report, bad); code != ExitInvalid {
		t.Fatalf("--report: exit %d", code)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\uFEFF"))).ReadAll()
	if err != nil || int64(len(recs)-1) != res.Summary.Problems {
		t.Errorf("report of %d lines for %d problems: %v", len(recs)-1, res.Summary.Problems, err)
	}
	if code, out, _ := run(t, "import", "check", "--type", "BL0001", "--shipped", "--lang", "zh-CN", good); code != 0 || !strings.Contains(out, "有效 300 行") {
		t.Errorf("zh-CN: exit %d %q", code, out)
	}

	notCSV := filepath.Join(dir, "not.csv")
	writeFile(t, notCSV, []byte("PK\x03\x04\x00\x00"))
	mapping := filepath.Join(dir, "mapping.json")
	writeFile(t, mapping, []byte(`{"number": "证照编号"}`))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"zip as csv", []string{notCSV}, "ZIP archive"},
		{"header not the mapping's", []string{"--mapping", mapping, bad}, "mapping.number"},
		{"unknown extension", []string{filepath.Join(dir, "x.dat")}, "--format"},
		{"unknown encoding", []string{"--encoding", "big5", bad}, "big5"},
		{"missing file", []string{filepath.Join(dir, "none.csv")}, "none.csv"},
		{"unknown shipped type", []string{"--type-version", "9", bad}, "BL0001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, errOut := check(tc.args...); code != ExitUsage || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d %q, want 2 naming %q", code, errOut, tc.want)
			}
		})
	}
	if code, _, errOut := run(t, "import", "check", bad); code != ExitUsage || !strings.Contains(errOut, "--type") {
		t.Errorf("without --type: exit %d %q", code, errOut)
	}
}

// onStorePlatform runs fn on the platform over the store of an
// onEachStore subtest, as the host commands open it.
func onStorePlatform(t *testing.T, data, dsn string, fn func(context.Context, *platform.Platform) error) error {
	t.Helper()
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	a := &app{cat: cat}
	a.cfg.Data, a.cfg.DB, a.cfg.Lang = data, dsn, "en"
	return a.withPlatform(context.Background(), func(p *platform.Platform) error { return fn(context.Background(), p) })
}

// TestImportCheckStore checks a file against a type of the store: its
// newest approved version, as issuance would issue under.
func TestImportCheckStore(t *testing.T) {
	onEachStore(t, func(t *testing.T, cmd storeCmd, data, dsn string) {
		dir := t.TempDir()
		file := filepath.Join(dir, "licenses.jsonl")
		writeFile(t, file, []byte(`{"number":"A-1","valid_from":"2024-01-02","completed_on":"2024-01-02","holder_id":"91350100M000100Y43","holder_name":"福州闽江示例科技有限公司","name":"福州闽江示例科技有限公司"}`+"\n"+
			`{"number":"A-2","valid_from":"2024-01-02","completed_on":"2024-01-02","holder_id":"91350100M000100Y44","holder_name":"x","name":"x"}`+"\n"))
		if code, _, errOut := cmd("import", "check", "--type", "TP0001", file); code != ExitInvalid || !strings.Contains(errOut, "type") {
			t.Fatalf("a type the store lacks: exit %d %q", code, errOut)
		}
		if code, _, errOut := cmd("org", "create", "--credit-code", "91350100M000100Y43", "--name", "平台", "--region", "350100",
			"--kind", "platform", "--responsible-name", "李四", "--responsible-phone", "13900000000"); code != 0 {
			t.Fatalf("org create: %s", errOut)
		}
		err := onStorePlatform(t, data, dsn, func(ctx context.Context, p *platform.Platform) error {
			e, err := p.Catalog.DefineType(ctx, nil, catalog.Type{Code: "TP0001", Name: catalog.Label{ZH: "测试许可证", EN: "Test permit"}, AnyIssuer: true,
				HolderKind: catalog.HolderOrganization, Level: catalog.LevelMunicipal, Public: catalog.PublicShared, CollectionStart: "2020-01-01",
				Validity: catalog.ValidityRule{Kind: catalog.ValidityFixed, Years: 5}, Numbering: "{region}{year}{seq:6}"})
			if err != nil {
				return err
			}
			admin := &authz.Actor{AccountID: "acc_admin", Org: e.Owner, Roles: []authz.Role{authz.PlatformAdmin}}
			_, err = p.Catalog.ProposeVersion(ctx, admin, "TP0001", catalog.Template{Fields: []catalog.Field{{Key: "name",
				Label: catalog.Label{ZH: "名称", EN: "Name"}, Type: catalog.TypeString, Required: true, MaxLength: 100,
				Sensitivity: catalog.SensitivityPublic, Masking: catalog.Masking{Rule: catalog.MaskNone}}}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if code, _, errOut := cmd("import", "check", "--type", "TP0001", file); code != ExitInvalid || !strings.Contains(errOut, "approved") {
			t.Fatalf("a type without an approved version: exit %d %q", code, errOut)
		}
		if code, _, errOut := cmd("catalog", "approve", "TP0001", "1", "--reason", "符合要求"); code != 0 {
			t.Fatalf("approve: %s", errOut)
		}
		var res importResult
		code, out, errOut := cmd("import", "check", "--type", "TP0001", "--json", file)
		if code != ExitInvalid || json.Unmarshal([]byte(out), &res) != nil || res.Summary != (importer.Summary{Read: 2, Valid: 1, Rejected: 1, Problems: 1, Encoding: importer.UTF8}) ||
			res.Problems[0].Field != "holder_id" || res.Problems[0].Rule != "check-character" {
			t.Errorf("check: exit %d %q %q", code, out, errOut)
		}
	})
}

// TestImportSample writes generated files with import sample in every
// format and checks them with import check: the same seed gives the same
// file, --bad 0 only valid rows, --bad a share refused by the rules the
// generator names, and bad flags exit 2 naming the flag.
func TestImportSample(t *testing.T) {
	dir := t.TempDir()
	sample := func(args ...string) (int, string, string) {
		return run(t, append([]string{"import", "sample", "--lang", "en"}, args...)...)
	}
	check := func(path string) importResult {
		t.Helper()
		var res importResult
		code, out, errOut := run(t, "import", "check", "--type", "BL0001", "--shipped", "--json", "--show", "1000", path)
		if code == ExitUsage || json.Unmarshal([]byte(out), &res) != nil {
			t.Fatalf("check %s: exit %d %q %q", path, code, out, errOut)
		}
		return res
	}
	rules := map[string]bool{}
	for _, b := range gen.BadKinds() {
		rules[string(b)] = true
	}
	for _, tc := range []struct {
		file, encoding string
		bad            string
		wantEncoding   string
	}{
		{"good.xlsx", "", "0", "utf-8"},
		{"good.jsonl", "", "0", "utf-8"},
		{"bad.csv", "", "0.3", "utf-8"},
		{"bad-gb.csv", "gb18030", "0.3", "gb18030"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			args := []string{"--n", "400", "--bad", tc.bad, "--seed", "3", "--out", path}
			if tc.encoding != "" {
				args = append(args, "--encoding", tc.encoding)
			}
			if code, out, errOut := sample(args...); code != 0 || !strings.Contains(out, "400 rows of BL0001 written to "+path) {
				t.Fatalf("sample: exit %d %q %q", code, out, errOut)
			}
			res := check(path)
			if res.Summary.Read != 400 || string(res.Summary.Encoding) != tc.wantEncoding {
				t.Fatalf("summary %+v", res.Summary)
			}
			if tc.bad == "0" {
				if res.Summary.Rejected != 0 {
					t.Fatalf("rows refused with --bad 0: %+v", res.Problems)
				}
				return
			}
			// 30 % of 400 rows: far from 0 and from all of them whatever
			// the draw.
			if res.Summary.Rejected < 60 || res.Summary.Rejected > 180 {
				t.Fatalf("%d of 400 rows refused with --bad 0.3", res.Summary.Rejected)
			}
			seen := map[string]bool{}
			for _, p := range res.Problems {
				seen[p.Rule] = true
			}
			// Each kind of bad row is refused for its rule, not-future
			// included: the rows are dated up to the day they are made.
			for r := range rules {
				if !seen[r] {
					t.Errorf("no row refused for rule %s (saw %v)", r, seen)
				}
			}
		})
	}
	a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	for _, p := range []string{a, b} {
		if code, _, errOut := sample("--n", "50", "--bad", "0.1", "--seed", "9", "-o", p); code != 0 {
			t.Fatalf("sample: exit %d %q", code, errOut)
		}
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if len(ab) == 0 || string(ab) != string(bb) {
		t.Error("the same seed wrote different files")
	}
	var res importSampleResult
	if code, out, _ := sample("--n", "5", "--json", "-o", filepath.Join(dir, "j.jsonl")); code != 0 || json.Unmarshal([]byte(out), &res) != nil ||
		res != (importSampleResult{Type: "BL0001", Rows: 5, Format: "jsonl", Path: filepath.Join(dir, "j.jsonl")}) {
		t.Errorf("--json: exit %d %q", code, out)
	}
	if code, out, _ := run(t, "import", "sample", "--lang", "zh-CN", "--n", "5", "-o", filepath.Join(dir, "z.csv")); code != 0 || !strings.Contains(out, "已将 5 行") {
		t.Errorf("zh-CN: exit %d %q", code, out)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no rows", []string{"--n", "0", "-o", a}, "--n"},
		{"bad share", []string{"--bad", "1.5", "-o", a}, "--bad"},
		{"no out", nil, "--out"},
		{"unknown format", []string{"--format", "ods", "-o", a}, "--format"},
		{"gb18030 xlsx", []string{"--encoding", "gb18030", "-o", filepath.Join(dir, "x.xlsx")}, "gb18030"},
		{"unknown encoding", []string{"--encoding", "big5", "-o", a}, "big5"},
		{"no directory", []string{"-o", filepath.Join(dir, "none", "x.csv")}, "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, errOut := sample(tc.args...); code != ExitUsage || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d %q, want 2 naming %q", code, errOut, tc.want)
			}
		})
	}
}
