package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/platform"
)

// licenseTransferCommand is `license transfer`: it files an issuer
// transfer job as the operator on the platform host and runs it in the
// foreground on the store, or continues one with --resume.
func (a *app) licenseTransferCommand() *cobra.Command {
	var n license.NewTransfer
	var resume string
	var batch int
	cmd := &cobra.Command{
		Use:   "transfer --from USCC --to USCC [--type CODE]... --reason TEXT | --resume JOB",
		Short: "Move licenses to a new issuing organization and re-sign them with its seal (R-ISS-5)",
		Long: `transfer files an issuer transfer job and runs it here, in the foreground,
printing its progress: the licenses of --from (of the --type codes, else of
every type it has issued) move to --to in identifier order, a batch per
transaction. Each one not revoked, cancelled or abolished gets a new version
signed by the license-issuing seal of --to bound to license issuance; its old
version stays readable and is superseded. The license identifiers do not
change. The filing is refused, with nothing written, when --to is not an
issuer, may not issue a type or has no seal bound in force.

An interrupted run (Ctrl-C, a crash) leaves the job where its last batch
committed: --resume JOB continues it, here, or a running serve process does
once the job's lease has run out. --resume also queues a failed job again
once what failed it is fixed.`,
		Example: `  zhengzhao license transfer --from 11350100MB0000027N --to 11350100MB0000035H --type PC0001 --reason "机构改革，职责划转"
  zhengzhao license transfer --resume ltr_000640a1f0c2b5e79d3f81c2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (resume == "") == (n.From == "" && n.To == "") {
				return usageErr("give --from, --to and --reason to file a job, or --resume JOB to continue one")
			}
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				return a.runTransfer(cmd.Context(), p, n, resume, batch)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&n.From, "from", "", "credit code of the organization whose licenses move")
	fl.StringVar(&n.To, "to", "", "credit code of the issuing organization they move to")
	fl.StringSliceVar(&n.Types, "type", nil, "license type code to move (repeat it); default every type --from has issued")
	fl.StringVar(&n.Reason, "reason", "", "why: kept in each license's history and the audit log")
	fl.StringVar(&resume, "resume", "", "continue this job instead of filing one")
	fl.IntVar(&batch, "batch", license.TransferBatch, "licenses moved per transaction")
	return cmd
}

// runTransfer files the job n (or takes job resume up again) and runs it
// to its end, a progress line per batch on stderr.
func (a *app) runTransfer(ctx context.Context, p *platform.Platform, n license.NewTransfer, resume string, batch int) error {
	var j license.TransferJob
	var err error
	if resume == "" {
		if j, err = p.Licenses.FileTransfer(ctx, nil, n); err != nil {
			return err
		}
	} else {
		if j, err = p.Licenses.GetTransfer(ctx, nil, resume); err != nil {
			return err
		}
		if j.State == license.TransferFailed {
			if j, err = p.Licenses.ResumeTransfer(ctx, nil, j.ID); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(a.stderr, a.t("cli.license.transfer.started", map[string]any{"ID": j.ID, "From": j.From, "To": j.To}))
	start, startMoved := time.Now(), j.Moved
	progress := func(j license.TransferJob) {
		rate := float64(j.Moved-startMoved) / max(time.Since(start).Seconds(), 1e-3)
		fmt.Fprintln(a.stderr, a.t("cli.license.transfer.progress", map[string]any{"Moved": j.Moved, "Total": j.Total,
			"Rate": strconv.FormatFloat(rate, 'f', 1, 64)}))
	}
	j, err = p.Licenses.RunTransfer(ctx, j.ID, runnerID(), license.TransferRun{Batch: batch, Progress: progress})
	if err != nil {
		return err
	}
	return a.print(httpapi.LicenseTransferOf(j), func(w io.Writer) error {
		_, err := fmt.Fprintln(w, a.t("cli.license.transfer.ended", map[string]any{"ID": j.ID, "State": string(j.State), "Moved": j.Moved}))
		return err
	})
}

// runnerID names this process as a runner of transfer jobs: the host, the
// process and a random part, so that a restarted process with the same
// process ID is another runner.
func runnerID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	b := make([]byte, 4)
	rand.Read(b) // crypto/rand.Read does not fail
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}
