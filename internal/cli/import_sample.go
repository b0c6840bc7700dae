package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/importer"
	"github.com/zhengzhao/zhengzhao/internal/importer/gen"
)

// importSample holds the flags of import sample.
type importSample struct {
	n                     int
	bad                   float64
	seed                  uint64
	format, encoding, out string
}

// importSampleResult is what import sample prints with --json.
type importSampleResult struct {
	Type   string `json:"type"`
	Rows   int    `json:"rows"`
	Format string `json:"format"`
	Path   string `json:"path"`
}

// importSampleCommand writes generated rows of the shipped business
// license, so that the import can be tried (and the walkthrough run)
// without a file of real licenses or another tool to make one.
func (a *app) importSampleCommand() *cobra.Command {
	var f importSample
	cmd := &cobra.Command{
		Use:   "sample --n N --out FILE",
		Short: "Write N generated business-license rows (BL0001), a share of them bad, to try the import with",
		Long: `import sample writes N rows of the shipped business license (BL0001) made
from a seed (the same seed gives the same rows): credit codes with their
check characters in real regions, company and person names, addresses,
dates. --bad turns that share of the rows bad, each of one kind named by the
rule it breaks (check-character, required, date, enum, region, columns,
not-future). The columns are named as the template's fields, so the file
needs no mapping; see docs/import.md.`,
		Example: `  zhengzhao import sample --n 10000 --bad 0.02 --out licenses.csv
  zhengzhao import sample --n 1000 --format xlsx --out licenses.xlsx`,
		Args: cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error { return a.runImportSample(f) },
	}
	fl := cmd.Flags()
	fl.IntVar(&f.n, "n", 1000, "rows to write (1 to 100000000)")
	fl.Float64Var(&f.bad, "bad", 0, "the share of bad rows, 0 to 1")
	fl.Uint64Var(&f.seed, "seed", 1, "the seed the rows are made from")
	fl.StringVar(&f.format, "format", "", "csv, jsonl or xlsx (default from the file's extension)")
	fl.StringVar(&f.encoding, "encoding", "utf-8", "csv: utf-8 (with a byte order mark) or gb18030")
	fl.StringVarP(&f.out, "out", "o", "", "the file to write (required)")
	return cmd
}

func (a *app) runImportSample(f importSample) (err error) {
	switch {
	case f.n < 1 || f.n > 100_000_000:
		return usageErr("--n %d: from 1 to 100000000", f.n)
	case f.bad < 0 || f.bad > 1:
		return usageErr("--bad %g: a share from 0 to 1", f.bad)
	case strings.TrimSpace(f.out) == "":
		return usageErr("--out is required: the file to write")
	}
	format := importer.CSV
	if f.format != "" {
		if format, err = importer.ParseFormat(f.format); err != nil {
			return usageErr("--format: %v", err)
		}
	} else if fm, ok := importer.FormatOf(f.out); ok {
		format = fm
	}
	var gb18030 bool
	switch strings.ToLower(f.encoding) {
	case "utf-8", "utf8":
	case "gb18030":
		gb18030 = true
		if format != importer.CSV {
			return usageErr("--encoding gb18030: only for csv")
		}
	default:
		return usageErr("--encoding %q: utf-8 or gb18030", f.encoding)
	}
	out, err := os.Create(f.out) // #nosec G304 -- the file the operator names
	if err != nil {
		return usageErr("create %s: %v", f.out, errors.Unwrap(err))
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("import sample: %w", cerr)
		}
	}()
	// Dates of the rows stop at today, so that a not-future row is bad
	// whenever the file is imported on the day it is made.
	g := gen.New(gen.Options{Seed: f.seed, BadFraction: f.bad, Now: time.Now().UTC()})
	switch format {
	case importer.JSONL:
		err = g.WriteJSONL(out, f.n)
	case importer.XLSX:
		err = g.WriteXLSX(out, f.n)
	default:
		err = g.WriteCSV(out, f.n, gen.CSVOptions{GB18030: gb18030, BOM: !gb18030})
	}
	if err != nil {
		return fmt.Errorf("import sample: %w", err)
	}
	res := importSampleResult{Type: gen.TypeCode, Rows: f.n, Format: string(format), Path: f.out}
	return a.print(res, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, a.t("cli.import.sample", map[string]any{"N": res.Rows, "Type": res.Type, "Path": res.Path}))
		return err
	})
}
