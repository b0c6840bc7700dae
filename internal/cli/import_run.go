package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/importer"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/platform"
)

// importRun holds the flags of import run.
type importRun struct {
	importCheck
	issuer, account, sign string
	batch                 int
	increment             bool
}

// importRunCommand imports a file into the store as an import job of the
// issuer. It exits 0 when every row is in the store (issued, a new
// version or unchanged), 1 when a row is rejected or the run is cancelled
// or fails (the same command resumes it), 2 when the file, the mapping or
// a flag is wrong.
func (a *app) importRunCommand() *cobra.Command {
	var f importRun
	cmd := &cobra.Command{
		Use:   "run --type CODE --issuer USCC FILE",
		Short: "Import a file of existing licenses into the store, signed in batches; resumable (exit 0 all imported, 1 rows rejected or stopped, 2 usage)",
		Long: `run imports a file of existing licenses as an import job of the issuing
organization, acting as its issuer account (--account): every row is
validated as import check does; the valid rows are written in batches of
--batch rows, each batch in one transaction with the job's checkpoint and
one audit entry, its licenses signed together by the organization's bound
license-issuing seal. A row is identified by its license number: a number
imported before from the same row is unchanged, from a changed row gets a new
version. Interrupted (Ctrl-C, a crash, kill -9), the same command on the same
file resumes the job after its last committed batch (docs/import.md).`,
		Example: `  zhengzhao import run --type BL0001 --issuer 11610100MB000002X licenses.csv
  zhengzhao import run --type BL0001 --issuer 11610100MB000002X --mapping mapping.json --report problems.csv licenses.xlsx`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runImport(cmd.Context(), f, args[0])
		},
	}
	importFlags(cmd, &f.importCheck)
	licenseFlags(cmd, &f.account)
	fl := cmd.Flags()
	fl.StringVar(&f.issuer, "issuer", "", "credit code of the issuing organization (required)")
	fl.IntVar(&f.batch, "batch", importer.DefaultBatch, fmt.Sprintf("rows per batch: one transaction, one signature (1-%d)", license.MaxBatch))
	fl.StringVar(&f.sign, "sign", "batch", "batch: one signature per batch; each: one per license")
	fl.BoolVar(&f.increment, "increment", false, "the file is a day's increment of licenses issued offline, due the day their cases completed (default: stock, due within five working days)")
	return cmd
}

func (a *app) runImport(ctx context.Context, f importRun, path string) error {
	if strings.TrimSpace(f.issuer) == "" {
		return usageErr("--issuer is required: the credit code of the issuing organization")
	}
	if f.batch < 1 || f.batch > license.MaxBatch {
		return usageErr("--batch %d: 1-%d rows", f.batch, license.MaxBatch)
	}
	if f.sign != "batch" && f.sign != "each" {
		return usageErr("--sign %q: batch or each", f.sign)
	}
	in, err := a.openImport(f.importCheck, path)
	if err != nil {
		return err
	}
	defer func() { _ = in.file.Close() }()
	digest, err := fileDigest(in.file)
	if err != nil {
		return err
	}
	// Ctrl-C or a termination ends the run after the batch in flight
	// rolls back; the job is left cancelled, to be resumed.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return a.asIssuer(ctx, f.issuer, f.account, func(p *platform.Platform, actor *authz.Actor) error {
		return a.importJob(ctx, p, actor, f, in, filepath.Base(path), digest)
	})
}

// fileDigest is the SHA-256 of the file, which is then read again from
// its start.
func fileDigest(file *os.File) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, file); err != nil {
		return "", fmt.Errorf("import file: %w", err)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("import file: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// importJob starts or resumes the job of the file and runs it to its end.
func (a *app) importJob(ctx context.Context, p *platform.Platform, actor *authz.Actor, f importRun, in *importInput, name, digest string) error {
	code := strings.TrimSpace(f.typ)
	e, v, err := storeType(ctx, p, code, f.version)
	if err != nil {
		return err
	}
	prog := a.newImportProgress(in.size, in.opt.Format, "cli.import.importing")
	r, err := in.read(prog)
	if err != nil {
		return err
	}
	defer func() { _ = r.Close() }()
	// A file the mapping does not fit is refused before a job exists.
	val := importer.NewValidator(e, v.Template, in.mapping, time.Now)
	if err := val.Bind(r.Header()); err != nil {
		return err
	}
	started, resumed, err := p.Licenses.StartImport(ctx, actor, license.NewImport{Type: code, TypeVersion: v.Number, FileName: name,
		FileDigest: digest, Mapping: in.mappingText, Increment: f.increment})
	if err != nil {
		return err
	}
	if resumed {
		fmt.Fprintln(a.stderr, a.t("cli.import.resumed", map[string]any{"Job": started.ID, "Row": started.Checkpoint}))
	}
	if started.TypeVersion != v.Number {
		// The job reads the file under the template version it started with.
		if e, v, err = storeType(ctx, p, code, started.TypeVersion); err != nil {
			return errors.Join(err, a.endImport(ctx, p, actor, started, license.ImportFailed))
		}
		val = importer.NewValidator(e, v.Template, in.mapping, time.Now)
	}
	rep, shown, closeReport, err := a.importReport(f.importCheck)
	if err != nil {
		return errors.Join(err, a.endImport(ctx, p, actor, started, license.ImportFailed))
	}
	job := importer.Job{Licenses: p.Licenses, Actor: actor, Job: started, BatchSize: f.batch, Each: f.sign == "each",
		Run: importer.Run{Report: rep, ProgressEvery: 1000, Progress: prog.rows}, Interrupted: license.ImportCancelled}
	s, last, err := job.Import(ctx, r, val)
	prog.finish()
	if cerr := closeReport(); err == nil {
		err = cerr
	}
	switch {
	case err != nil && ctx.Err() != nil:
		// The job is left cancelled, to be resumed by the same command.
		return a.msgErr(ExitInvalid, "cli.import.cancelled", map[string]any{"Job": started.ID, "Row": last.Checkpoint})
	case errors.Is(err, importer.ErrFile):
		return &exitError{code: ExitUsage, err: err}
	case err != nil:
		return err
	}
	return a.printImportSummary(f.importCheck, s, shown, started.ID)
}

// endImport records how the run of job ended, also once ctx is cancelled.
func (a *app) endImport(ctx context.Context, p *platform.Platform, actor *authz.Actor, job license.ImportJob, state license.ImportState) error {
	_, err := p.Licenses.FinishImport(context.WithoutCancel(ctx), actor, job.ID, state)
	return err
}
