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
XLSX) and validates them row by row as issuance would (docs/import.md).`,
	}
	cmd.AddCommand(a.importCheckCommand())
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
	fl := cmd.Flags()
	fl.StringVar(&f.typ, "type", "", "the license type code (required)")
	fl.IntVar(&f.version, "type-version", 0, "the approved template version (default the newest approved)")
	fl.BoolVar(&f.shipped, "shipped", false, "take the type as shipped in this binary instead of from the store")
	fl.StringVar(&f.mapping, "mapping", "", "the column mapping, JSON (default: columns named as the fields)")
	fl.StringVar(&f.format, "format", "", "csv, jsonl or xlsx (default from the file's extension)")
	fl.StringVar(&f.encoding, "encoding", "auto", "csv and jsonl: utf-8, gb18030 or auto")
	fl.StringVar(&f.sheet, "sheet", "", "xlsx: the sheet to read (default the first)")
	fl.StringVar(&f.report, "report", "", "write every problem to this file")
	fl.StringVar(&f.reportFormat, "report-format", "", "csv or json (default from the report's extension, csv)")
	fl.IntVar(&f.show, "show", 20, "without --report: how many problems to print")
	return cmd
}

func (a *app) runImportCheck(ctx context.Context, f importCheck, path string) error {
	if strings.TrimSpace(f.typ) == "" {
		return usageErr("--type is required: the license type code of the file's licenses")
	}
	opt := importer.Options{Sheet: f.sheet}
	var err error
	if f.format != "" {
		if opt.Format, err = importer.ParseFormat(f.format); err != nil {
			return usageErr("--format: %v", err)
		}
	} else if fm, ok := importer.FormatOf(path); ok {
		opt.Format = fm
	} else {
		return usageErr("cannot tell the format of %s from its extension: name it with --format csv, jsonl or xlsx", filepath.Base(path))
	}
	if opt.Encoding, err = importer.ParseEncoding(f.encoding); err != nil {
		return usageErr("--encoding: %v", err)
	}
	var m importer.Mapping
	if f.mapping != "" {
		b, err := readInput(f.mapping)
		if err != nil {
			return err
		}
		if m, err = importer.ParseMapping(strings.NewReader(string(b))); err != nil {
			return usageErr("%s: %v", f.mapping, err)
		}
	}
	e, tmpl, err := a.importType(ctx, f)
	if err != nil {
		return err
	}
	file, err := os.Open(path) // #nosec G304 -- the file the operator names
	if err != nil {
		return usageErr("open %s: %v", path, errors.Unwrap(err))
	}
	defer func() { _ = file.Close() }()
	st, err := file.Stat()
	if err != nil {
		return fmt.Errorf("import file: %w", err)
	}
	prog := a.newImportProgress(st.Size(), opt.Format)
	r, err := importer.Open(io.TeeReader(file, prog), opt)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	defer func() { _ = r.Close() }()

	rep, shown, closeReport, err := a.importReport(f)
	if err != nil {
		return err
	}
	run := importer.Run{Report: rep, ProgressEvery: 1000, Progress: prog.rows}
	s, err := run.Check(ctx, r, importer.NewValidator(e, tmpl, m, time.Now))
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
	return a.printImportSummary(f, s, shown)
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
		if e, err = p.Catalog.GetType(ctx, code); err != nil {
			return err
		}
		if f.version == 0 {
			v, err = p.Catalog.Latest(ctx, code)
		} else {
			v, err = p.Catalog.Usable(ctx, code, f.version)
		}
		return err
	})
	return e, v.Template, err
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

// importResult is what import check prints with --json.
type importResult struct {
	Summary  importer.Summary   `json:"summary"`
	Report   string             `json:"report,omitempty"`
	Problems []importer.Problem `json:"problems,omitempty"`
	More     int64              `json:"more_problems,omitempty"`
}

func (a *app) printImportSummary(f importCheck, s importer.Summary, shown *shownProblems) error {
	res := importResult{Summary: s, Report: f.report}
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

// importProgress shows how far the check has come on stderr: a bar on a
// terminal (bytes of a text file, rows of a workbook, which is read whole
// first), a plain line every 100,000 rows otherwise.
type importProgress struct {
	a     *app
	bar   *progressbar.ProgressBar
	bytes bool
	last  int64
}

func (a *app) newImportProgress(size int64, format importer.Format) *importProgress {
	p := &importProgress{a: a}
	f, ok := a.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || a.json { // #nosec G115 -- a file descriptor fits an int
		return p
	}
	opts := []progressbar.Option{progressbar.OptionSetWriter(a.stderr), progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionSetDescription(a.t("cli.import.checking", nil)), progressbar.OptionClearOnFinish()}
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

// rows is the run's progress callback.
func (p *importProgress) rows(s importer.Summary) {
	switch {
	case p.bar != nil && !p.bytes:
		_ = p.bar.Set64(s.Read)
	case p.bar == nil && !p.a.json && s.Read/100_000 > p.last/100_000:
		fmt.Fprintln(p.a.stderr, p.a.t("cli.import.progress", map[string]any{"Read": s.Read, "Rejected": s.Rejected}))
	}
	p.last = s.Read
}

func (p *importProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
