package cli

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/cputime"
	"github.com/zhengzhao/zhengzhao/internal/importer"
	"github.com/zhengzhao/zhengzhao/internal/importer/gen"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
)

// benchImportOptions are the flags of bench import.
type benchImportOptions struct {
	n, batch int
	db, sign string
	// cpuProfile names the file the import's CPU profile is written to
	// (the raw inserts are not in it).
	cpuProfile string
}

// benchImportResult is what bench import prints with --json.
type benchImportResult struct {
	Store    string  `json:"store"`
	Sign     string  `json:"sign"`
	N        int     `json:"n"`
	PerS     float64 `json:"licenses_per_s"`
	PeakRSS  float64 `json:"peak_rss_mb"`
	Baseline float64 `json:"baseline_inserts_per_s"`
	// SM2 is, with --sign each, the other baseline: raw SM2 signatures a
	// second on every core.
	SM2 float64 `json:"baseline_sm2_signs_per_s,omitempty"`
	// Imported is the licenses the import wrote (n, as the rows are valid).
	Imported int64   `json:"imported"`
	Seconds  float64 `json:"seconds"`
	// CPUPerLicense is the process's CPU time (all its threads; not the
	// PostgreSQL server's) during the import, per license: on a shared
	// machine a steadier figure than the rate.
	CPUPerLicense float64 `json:"cpu_us_per_license"`
	// BaselineCPU is the same for the raw inserts, per row.
	BaselineCPU float64 `json:"baseline_cpu_us_per_row"`
}

func (a *app) benchImportCommand() *cobra.Command {
	var o benchImportOptions
	cmd := &cobra.Command{
		Use:   "import --n N",
		Short: "Import N generated licenses into a fresh store and compare with raw inserts of the same rows",
		Long: `bench import generates N business-license rows (internal/importer/gen) to a CSV
file, imports it as import run does into a fresh store (a temporary SQLite
database, or a new schema of the PostgreSQL database --db names, dropped
afterwards) as the demo's market regulator, and reports the licenses a
second, the process's peak resident memory, and the baseline measured in
the same run: raw inserts of the same rows. For each row the baseline
writes the rows an import writes a license — its license row, its version
row with a document as large as the import's stored documents are on
average, its outbox event, its import record and its status claim — into
the bench's own copies of those tables (same columns, primary keys and
unique indexes), one plain INSERT a row, a transaction a batch, the
holder's identifier and the document encrypted with the field data key and
the holder indexed as an import does. It reads and decides nothing, signs
nothing and writes no audit entry. With --sign each the run also measures
raw SM2 signing: SM3 digests signed on every core with a key of its own.
The file's generation and the store's set-up are not timed.`,
		Example: `  zhengzhao bench import --n 100000 --json
  zhengzhao bench import --n 100000 --db postgres://localhost/zhengzhao --sign each`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.benchImport(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.IntVar(&o.n, "n", 100_000, "rows to import (1 to 100000000)")
	f.IntVar(&o.batch, "batch", importer.DefaultBatch, fmt.Sprintf("rows per batch (1-%d)", license.MaxBatch))
	f.StringVar(&o.db, "db", "", "a PostgreSQL database to bench in a new schema of (default a temporary SQLite store)")
	f.StringVar(&o.sign, "sign", "batch", "batch: one signature per batch; each: one per license")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write the CPU profile of the import (pprof) to this file")
	return cmd
}

func (a *app) benchImport(ctx context.Context, o benchImportOptions) error {
	switch {
	case o.n < 1 || o.n > 100_000_000:
		return usageErr("--n %d: from 1 to 100000000", o.n)
	case o.batch < 1 || o.batch > license.MaxBatch:
		return usageErr("--batch %d: 1-%d rows", o.batch, license.MaxBatch)
	case o.sign != "batch" && o.sign != "each":
		return usageErr("--sign %q: batch or each", o.sign)
	}
	dir, err := os.MkdirTemp("", "zhengzhao-bench-import-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	file := filepath.Join(dir, "licenses.csv")
	if err := benchImportFile(file, o.n); err != nil {
		return err
	}
	b := *a
	b.stderr = io.Discard // the throwaway store's new master key is no news
	b.cfg.Data, b.cfg.DB, b.cfg.MasterKeyFile, b.cfg.PKCS11Module, b.cfg.PKCS11Token = dir, "", "", "", ""
	res := benchImportResult{Store: "sqlite", Sign: o.sign, N: o.n}
	if o.db != "" {
		dsn, drop, err := store.FreshSchema(ctx, o.db, "zz_bench_import")
		if err != nil {
			return usageErr("--db: %v", err)
		}
		defer func() { _ = drop(context.WithoutCancel(ctx)) }()
		b.cfg.DB, res.Store = dsn, "postgres"
	}
	err = b.withPlatform(ctx, func(p *platform.Platform) error {
		d, err := seedDemo(ctx, p)
		if err != nil {
			return err
		}
		var actor *authz.Actor
		for _, t := range d.Tokens {
			if t.Role == authz.Issuer {
				if actor, err = p.Orgs.Authenticate(ctx, t.Token); err != nil {
					return err
				}
			}
		}
		if actor == nil {
			return fmt.Errorf("the demo has no issuer account")
		}
		return benchImportRun(ctx, p, actor, o, file, &res)
	})
	if err != nil {
		return err
	}
	if o.sign == "each" {
		if res.SM2, err = benchSM2(ctx, time.Second); err != nil {
			return err
		}
	}
	if rss, ok := cputime.PeakRSS(); ok {
		res.PeakRSS = float64(rss) / (1 << 20)
	}
	line := fmt.Sprintf("%s, sign %s: %d licenses in %.1fs, %.0f licenses/s, %.0f µs CPU each (raw inserts of the same rows: %.0f/s, %.0f µs CPU each, reading and validation included); peak RSS %.0f MB",
		res.Store, res.Sign, res.Imported, res.Seconds, res.PerS, res.CPUPerLicense, res.Baseline, res.BaselineCPU, res.PeakRSS)
	if res.SM2 > 0 {
		line += fmt.Sprintf("; raw SM2 signatures: %.0f/s", res.SM2)
	}
	return a.printLine(res, line)
}

// benchImportFile writes n valid generated rows.
func benchImportFile(path string, n int) error {
	f, err := os.Create(path) // #nosec G304 -- a file of the bench's own temporary directory
	if err != nil {
		return err
	}
	if err := gen.New(gen.Options{Seed: 1}).WriteCSV(f, n, gen.CSVOptions{}); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// benchImportRun imports the file as a job of actor, timed, then inserts
// the same rows raw, timing the inserts only.
func benchImportRun(ctx context.Context, p *platform.Platform, actor *authz.Actor, o benchImportOptions, file string, res *benchImportResult) error {
	e, v, err := storeType(ctx, p, "BL0001", 0)
	if err != nil {
		return err
	}
	open := func() (importer.Reader, func(), error) {
		f, err := os.Open(file) // #nosec G304 -- the bench's own file
		if err != nil {
			return nil, nil, err
		}
		r, err := importer.Open(f, importer.Options{Format: importer.CSV})
		if err != nil {
			_ = f.Close()
			return nil, nil, err
		}
		return r, func() { _ = r.Close(); _ = f.Close() }, nil
	}
	r, closeFile, err := open()
	if err != nil {
		return err
	}
	defer closeFile()
	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return err
	}
	cpu0, _ := cputime.Process()
	start := time.Now()
	job, _, err := p.Licenses.StartImport(ctx, actor, license.NewImport{Type: e.Code, FileName: "bench.csv", FileDigest: fmt.Sprintf("%064x", start.UnixNano())})
	if err != nil {
		return err
	}
	load := importer.Load{Job: job, BatchSize: o.batch, Each: o.sign == "each",
		Apply: func(ctx context.Context, b license.ImportBatch) (license.ImportResult, error) {
			return p.Licenses.ImportBatch(ctx, actor, job.ID, b)
		}}
	s, _, err := load.Import(ctx, r, importer.NewValidator(e, v.Template, importer.Mapping{}, time.Now))
	if err != nil {
		return err
	}
	if _, err := p.Licenses.FinishImport(ctx, actor, job.ID, license.ImportDone); err != nil {
		return err
	}
	elapsed := time.Since(start)
	cpu1, _ := cputime.Process()
	if err := stopProfile(); err != nil {
		return err
	}
	if s.Imported != int64(o.n) {
		return fmt.Errorf("imported %d of %d generated rows (%d rejected)", s.Imported, o.n, s.Rejected)
	}
	res.Imported, res.Seconds, res.PerS = s.Imported, elapsed.Seconds(), float64(s.Imported)/elapsed.Seconds()
	res.CPUPerLicense = float64((cpu1 - cpu0).Microseconds()) / float64(s.Imported)

	docSize, err := p.DB.BaselineDocumentSize(ctx)
	if err != nil {
		return err
	}
	r2, close2, err := open()
	if err != nil {
		return err
	}
	defer close2()
	var inserting time.Duration
	var inserted int64
	batch := make([]license.ImportRow, 0, o.batch)
	flush := func(ctx context.Context) error {
		if len(batch) == 0 {
			return nil
		}
		t := time.Now()
		if err := p.DB.InsertBaseline(ctx, batch, docSize); err != nil {
			return err
		}
		inserting += time.Since(t)
		inserted += int64(len(batch))
		batch = batch[:0]
		return nil
	}
	run := importer.Run{
		Row: func(ctx context.Context, _ *importer.Summary, rec *importer.Record) error {
			if rec == nil {
				return nil
			}
			batch = append(batch, *rec)
			if len(batch) >= o.batch {
				return flush(ctx)
			}
			return nil
		},
		End: func(ctx context.Context, _ *importer.Summary) error { return flush(ctx) },
	}
	cpu0, _ = cputime.Process()
	if _, err := run.Check(ctx, r2, importer.NewValidator(e, v.Template, importer.Mapping{}, time.Now)); err != nil {
		return err
	}
	cpu1, _ = cputime.Process()
	res.BaselineCPU = float64((cpu1 - cpu0).Microseconds()) / float64(max(inserted, 1))
	if inserting > 0 {
		res.Baseline = float64(inserted) / inserting.Seconds()
	}
	return nil
}

// startCPUProfile starts the CPU profile to path, if any, and returns
// the function that ends it.
func startCPUProfile(path string) (func() error, error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path) // #nosec G304 -- the operator's own output file
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// benchSM2 signs SM3 digests with a key of its own on every core for d
// and returns the signatures a second.
func benchSM2(ctx context.Context, d time.Duration) (float64, error) {
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return 0, err
	}
	digest := sm3.Sum([]byte("zhengzhao bench import"))
	workers := runtime.GOMAXPROCS(0)
	counts := make([]int, workers)
	errs := make([]error, workers)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < d && ctx.Err() == nil {
				if _, errs[w] = sm2.SignASN1(rand.Reader, key, digest[:], nil); errs[w] != nil {
					return
				}
				counts[w]++
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	total := 0
	for w := range workers {
		if errs[w] != nil {
			return 0, errs[w]
		}
		total += counts[w]
	}
	return float64(total) / elapsed.Seconds(), nil
}
