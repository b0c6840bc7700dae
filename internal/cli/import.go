package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/importer"
	"github.com/zhengzhao/zhengzhao/internal/platform"
)

func (a *app) importCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Bulk import of existing licenses (存量证照电子化)",
		Long: `import reads files of existing licenses (CSV in UTF-8 or GB18030, JSON Lines,
XLSX) and validates them row by row as issuance would (check), or imports
them into the store as an issuer's import job, resumable (run); see
docs/import.md.`,
	}
	cmd.AddCommand(a.importCheckCommand(), a.importRunCommand(), a.importSampleCommand(), a.importLatenessCommand(),
		a.importReconcileCommand(), a.importDigestCommand())
	return cmd
}

// importCheck holds the flags of import check.
type importCheck struct {
	typ, mapping, format, encoding, sheet string
	report, reportFormat                  string
	version, show                         int
	shipped                               bool
}

// importCheckCommand validates a file without importing it. Like every
// check it exits 0 when every row is valid, 1 when a row is rejected, 2
// when the file, the mapping or the flags are wrong.
func (a *app) importCheckCommand() *cobra.Command {
	var f importCheck
	cmd := &cobra.Command{
		Use:   "check --type CODE FILE",
		Short: "Validate a file of existing licenses and report the rejected rows (exit 0 all valid, 1 rows rejected, 2 usage)",
		Example: `  zhengzhao import check --type BL0001 licenses.csv
  zhengzhao import check --type BL0001 --shipped --mapping mapping.json --report problems.csv licenses.xlsx`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runImportCheck(cmd.Context(), f, args[0])
		},
	}
	importFlags(cmd, &f)
	cmd.Flags().BoolVar(&f.shipped, "shipped", false, "take the type as shipped in this binary instead of from the store")
	return cmd
}

// importFlags are the flags import check and import run share: the type,
// how to read the file and where the problems go.
func importFlags(cmd *cobra.Command, f *importCheck) {
	fl := cmd.Flags()
	fl.StringVar(&f.typ, "type", "", "the license type code (required)")
	fl.IntVar(&f.version, "type-version", 0, "the approved template version (default the newest approved)")
	fl.StringVar(&f.mapping, "mapping", "", "the column mapping, JSON (default: columns named as the fields)")
	fl.StringVar(&f.format, "format", "", "csv, jsonl or xlsx (default from the file's extension)")
	fl.StringVar(&f.encoding, "encoding", "auto", "csv and jsonl: utf-8, gb18030 or auto")
	fl.StringVar(&f.sheet, "sheet", "", "xlsx: the sheet to read (default the first)")
	fl.StringVar(&f.report, "report", "", "write every problem to this file")
	fl.StringVar(&f.reportFormat, "report-format", "", "csv or json (default from the report's extension, csv)")
	fl.IntVar(&f.show, "show", 20, "without --report: how many problems to print")
}

// importInput is an opened import file with how to read it.
type importInput struct {
	opt     importer.Options
	mapping importer.Mapping
	// mappingText is the mapping file as given, "" without one: an import
	// job is resumed under the same.
	mappingText string
	file        *os.File
	size        int64
}

// openImport checks the flags that say how to read the file and opens it.
func (a *app) openImport(f importCheck, path string) (*importInput, error) {
	if strings.TrimSpace(f.typ) == "" {
		return nil, usageErr("--type is required: the license type code of the file's licenses")
	}
	in := &importInput{opt: importer.Options{Sheet: f.sheet}}
	var err error
	if f.format != "" {
		if in.opt.Format, err = importer.ParseFormat(f.format); err != nil {
			return nil, usageErr("--format: %v", err)
		}
	} else if fm, ok := importer.FormatOf(path); ok {
		in.opt.Format = fm
	} else {
		return nil, usageErr("cannot tell the format of %s from its extension: name it with --format csv, jsonl or xlsx", filepath.Base(path))
	}
	if in.opt.Encoding, err = importer.ParseEncoding(f.encoding); err != nil {
		return nil, usageErr("--encoding: %v", err)
	}
	if f.mapping != "" {
		b, err := readInput(f.mapping)
		if err != nil {
			return nil, err
		}
		if in.mapping, err = importer.ParseMapping(strings.NewReader(string(b))); err != nil {
			return nil, usageErr("%s: %v", f.mapping, err)
		}
		in.mappingText = string(b)
	}
	if in.file, err = os.Open(path); err != nil { // #nosec G304 -- the file the operator names
		return nil, usageErr("open %s: %v", path, errors.Unwrap(err))
	}
	st, err := in.file.Stat()
	if err != nil {
		_ = in.file.Close()
		return nil, fmt.Errorf("import file: %w", err)
	}
	in.size = st.Size()
	return in, nil
}

// read opens the reader of the file, its bytes counted by prog.
func (in *importInput) read(prog *importProgress) (importer.Reader, error) {
	r, err := importer.Open(io.TeeReader(in.file, prog), in.opt)
	if err != nil {
		return nil, &exitError{code: ExitUsage, err: err}
	}
	return r, nil
}

func (a *app) runImportCheck(ctx context.Context, f importCheck, path string) error {
	in, err := a.openImport(f, path)
	if err != nil {
		return err
	}
	defer func() { _ = in.file.Close() }()
	e, tmpl, err := a.importType(ctx, f)
	if err != nil {
		return err
	}
	prog := a.newImportProgress(in.size, in.opt.Format, "cli.import.checking")
	r, err := in.read(prog)
	if err != nil {
		return err
	}
	defer func() { _ = r.Close() }()

	rep, shown, closeReport, err := a.importReport(f)
	if err != nil {
		return err
	}
	run := importer.Run{Report: rep, ProgressEvery: 1000, Progress: prog.rows}
	s, err := run.Check(ctx, r, importer.NewValidator(e, tmpl, in.mapping, time.Now))
	prog.finish()
	if cerr := closeReport(); err == nil {
		err = cerr
	}
	switch {
	case errors.Is(err, importer.ErrFile):
		return &exitError{code: ExitUsage, err: err}
	case err != nil:
		// A header the mapping does not fit is an apperr of kind Invalid:
		// a usage error, worded field by field.
		return err
	}
	return a.printImportSummary(f, s, shown, "")
}

// importType returns the type and template to check against: from the
// store (the newest approved version, or the one named), or as shipped.
func (a *app) importType(ctx context.Context, f importCheck) (catalog.Entry, catalog.Template, error) {
	code := strings.TrimSpace(f.typ)
	if f.shipped {
		defs, err := catalog.Shipped()
		if err != nil {
			return catalog.Entry{}, catalog.Template{}, err
		}
		for _, d := range defs {
			if d.Type.Code == code && (f.version == 0 || f.version == d.Version) {
				return catalog.Entry{Type: d.Type, Approved: d.Version}, d.Template, nil
			}
		}
		return catalog.Entry{}, catalog.Template{}, usageErr("no shipped license type %s (version %d)", code, f.version)
	}
	var e catalog.Entry
	var v catalog.Version
	err := a.withPlatform(ctx, func(p *platform.Platform) error {
		var err error
		e, v, err = storeType(ctx, p, code, f.version)
		return err
	})
	return e, v.Template, err
}

// storeType returns the type of the store and its newest approved version
// or the one named.
func storeType(ctx context.Context, p *platform.Platform, code string, version int) (catalog.Entry, catalog.Version, error) {
	e, err := p.Catalog.GetType(ctx, code)
	if err != nil {
		return catalog.Entry{}, catalog.Version{}, err
	}
	var v catalog.Version
	if version == 0 {
		v, err = p.Catalog.Latest(ctx, code)
	} else {
		v, err = p.Catalog.Usable(ctx, code, version)
	}
	return e, v, err
}

// importReport opens the report: the --report file, else the problems
// kept in memory to print the first --show of them.
func (a *app) importReport(f importCheck) (importer.Report, *shownProblems, func() error, error) {
	if f.report == "" {
		s := &shownProblems{max: f.show}
		return s, s, func() error { return nil }, nil
	}
	format := strings.ToLower(f.reportFormat)
	if format == "" {
		format = "csv"
		if strings.EqualFold(filepath.Ext(f.report), ".json") {
			format = "json"
		}
	}
	if format != "csv" && format != "json" {
		return nil, nil, nil, usageErr("--report-format %q: csv or json", f.reportFormat)
	}
	out, err := os.Create(f.report) // #nosec G304 -- the file the operator names
	if err != nil {
		return nil, nil, nil, usageErr("create %s: %v", f.report, errors.Unwrap(err))
	}
	var rep importer.Report
	if format == "json" {
		rep, err = importer.NewJSONReport(out)
	} else {
		rep, err = importer.NewCSVReport(out)
	}
	if err != nil {
		_ = out.Close()
		return nil, nil, nil, err
	}
	return rep, nil, out.Close, nil
}

// shownProblems keeps the first problems to print and counts the rest.
type shownProblems struct {
	max      int
	problems []importer.Problem
	more     int64
}

func (s *shownProblems) Add(p importer.Problem) error {
	if len(s.problems) < s.max {
		s.problems = append(s.problems, p)
	} else {
		s.more++
	}
	return nil
}

func (s *shownProblems) Close(importer.Summary) error { return nil }

// importResult is what import check and import run print with --json.
type importResult struct {
	// Job is the import job of import run.
	Job      string             `json:"job,omitempty"`
	Summary  importer.Summary   `json:"summary"`
	Report   string             `json:"report,omitempty"`
	Problems []importer.Problem `json:"problems,omitempty"`
	More     int64              `json:"more_problems,omitempty"`
}

func (a *app) printImportSummary(f importCheck, s importer.Summary, shown *shownProblems, job string) error {
	res := importResult{Job: job, Summary: s, Report: f.report}
	if shown != nil {
		res.Problems, res.More = shown.problems, shown.more
	}
	err := a.print(res, func(w io.Writer) error {
		for _, p := range res.Problems {
			fmt.Fprintln(w, a.problemLine(p))
		}
		if res.More > 0 {
			fmt.Fprintln(w, a.t("cli.import.more", map[string]any{"N": res.More}))
		}
		if f.report != "" {
			fmt.Fprintln(w, a.t("cli.import.report", map[string]any{"Path": f.report}))
		}
		if job != "" {
			_, err := fmt.Fprintln(w, a.t("cli.import.imported", map[string]any{"Job": job, "Read": s.Read, "Imported": s.Imported,
				"Versioned": s.Versioned, "Unchanged": s.Unchanged, "Rejected": s.Rejected, "Encoding": s.Encoding}))
			return err
		}
		_, err := fmt.Fprintln(w, a.t("cli.import.summary", map[string]any{"Read": s.Read, "Valid": s.Valid, "Rejected": s.Rejected, "Encoding": s.Encoding}))
		return err
	})
	if err != nil {
		return err
	}
	if s.Rejected > 0 {
		return &exitError{code: ExitInvalid}
	}
	return nil
}

// problemLine words a problem in the language of the invocation; the
// detail stays in the report.
func (a *app) problemLine(p importer.Problem) string {
	return a.t("cli.import.problem", map[string]any{"Row": p.Row, "Column": p.Column, "Field": p.Field, "Rule": p.Rule,
		"Message": a.cat.T(a.cfg.Language(), "rule."+p.Rule, nil, p.Detail), "Value": p.Value})
}

// importProgress shows how far a check or an import has come on stderr:
// a bar on a terminal (bytes of a text file, with its ETA, or rows of a
// workbook, which is read whole first) with the rows per second, a plain
// line every 100,000 rows otherwise.
type importProgress struct {
	a     *app
	bar   *progressbar.ProgressBar
	bytes bool
	last  int64
	verb  string
	start time.Time
}

func (a *app) newImportProgress(size int64, format importer.Format, verb string) *importProgress {
	p := &importProgress{a: a, verb: a.t(verb, nil), start: time.Now()}
	f, ok := a.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || a.json { // #nosec G115 -- a file descriptor fits an int
		return p
	}
	opts := []progressbar.Option{progressbar.OptionSetWriter(a.stderr), progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionSetDescription(p.verb), progressbar.OptionClearOnFinish(), progressbar.OptionSetPredictTime(true)}
	if format == importer.XLSX {
		p.bar = progressbar.NewOptions64(-1, append(opts, progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(a.t("cli.import.rows", nil)))...)
		return p
	}
	p.bytes = true
	p.bar = progressbar.NewOptions64(size, append(opts, progressbar.OptionShowBytes(true))...)
	return p
}

// Write counts the bytes of the file as they are read.
func (p *importProgress) Write(b []byte) (int, error) {
	if p.bar != nil && p.bytes {
		_ = p.bar.Add(len(b))
	}
	return len(b), nil
}

// rate is the rows per second so far.
func (p *importProgress) rate(read int64) int64 {
	if d := time.Since(p.start).Seconds(); d > 0 {
		return int64(float64(read) / d)
	}
	return 0
}

// rows is the run's progress callback.
func (p *importProgress) rows(s importer.Summary) {
	switch {
	case p.bar != nil && !p.bytes:
		_ = p.bar.Set64(s.Read)
	case p.bar != nil:
		p.bar.Describe(p.a.t("cli.import.rate", map[string]any{"Verb": p.verb, "Rate": p.rate(s.Read)}))
	case !p.a.json && s.Read/100_000 > p.last/100_000:
		fmt.Fprintln(p.a.stderr, p.a.t("cli.import.progress", map[string]any{"Read": s.Read, "Rejected": s.Rejected, "Rate": p.rate(s.Read)}))
	}
	p.last = s.Read
}

func (p *importProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
