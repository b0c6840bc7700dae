package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/platform"
)

func (a *app) auditCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "The tamper-evident audit log",
	}
	cmd.AddCommand(a.auditCheckCommand(), a.auditListCommand(), a.auditCheckpointCommand(), a.auditVerifyCheckpointCommand())
	return cmd
}

// auditCheckCommand is `audit check`.
func (a *app) auditCheckCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Recompute the audit log's Merkle root from every entry (exit 0 intact, 1 tampered)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				// Entries waiting for integration are integrated first, so
				// that the check covers every committed entry.
				if _, err := auditlog.IntegrateAll(cmd.Context(), p.DB); err != nil {
					return err
				}
				tree, cerr := auditlog.Check(cmd.Context(), p.DB)
				err := a.print(httpapi.AuditTreeOf(tree, cerr), func(w io.Writer) error {
					fmt.Fprintf(w, "size %d  root %x\n", tree.Size, tree.Root)
					if cerr != nil {
						fmt.Fprintln(w, cerr)
					}
					return nil
				})
				if err != nil {
					return err
				}
				if cerr != nil {
					return &exitError{code: ExitInvalid}
				}
				return nil
			})
		},
	}
}

// auditListCommand is `audit list`.
func (a *app) auditListCommand() *cobra.Command {
	var from, limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Print audit entries from an index",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from < 0 || limit < 1 || limit > 10000 {
				return usageErr("--from must be ≥ 0 and --limit 1 to 10000")
			}
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				entries, _, err := p.DB.AuditEntries(cmd.Context(), uint64(from), uint64(from+limit)) //nolint:gosec // from ≥ 0 and limit 1..10000 are checked above
				if err != nil {
					return err
				}
				if len(entries) < limit { // the end of the log: then what waits for integration
					pending, err := p.DB.AuditPending(cmd.Context(), "", limit-len(entries))
					if err != nil {
						return err
					}
					entries = append(entries, pending...)
				}
				return printItems(a, httpapi.ListOf(entries, httpapi.AuditEntryOf), entries, func(e auditlog.Entry) string {
					index := fmt.Sprint(e.Index)
					if e.Pending {
						index = a.t("cli.audit.pending", nil)
					}
					return fmt.Sprintf("%6s  %s  %-28s %-20s %s  %v", index, e.At.Format(time.RFC3339), e.Action, e.Subject, e.Actor, e.Details)
				})
			})
		},
	}
	cmd.Flags().IntVar(&from, "from", 0, "first index")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many")
	return cmd
}

// auditCheckpointCommand is `audit checkpoint`.
func (a *app) auditCheckpointCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "checkpoint",
		Short: "Print a signed checkpoint of the audit log and, on stderr, its verifier key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				msg, err := p.Checkpoints.Checkpoint(cmd.Context())
				if err != nil {
					return err
				}
				vkey, err := p.Checkpoints.VerifierKey(cmd.Context())
				if err != nil {
					return err
				}
				return a.print(map[string]string{"checkpoint": string(msg), "verifier_key": vkey}, func(w io.Writer) error {
					fmt.Fprintln(a.stderr, "verifier key:", vkey)
					_, err := w.Write(msg)
					return err
				})
			})
		},
	}
}

// auditVerifyCheckpointCommand is `audit verify-checkpoint`.
func (a *app) auditVerifyCheckpointCommand() *cobra.Command {
	var vkey string
	cmd := &cobra.Command{
		Use:   "verify-checkpoint FILE --key VERIFIER_KEY",
		Short: "Verify a signed checkpoint (exit 0 valid, 1 invalid, 2 usage)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if vkey == "" {
				return usageErr("--key is required")
			}
			msg, err := readInput(args[0])
			if err != nil {
				return err
			}
			origin, size, _, verr := auditlog.VerifyCheckpoint(msg, vkey)
			subject := fmt.Sprintf("%s@%d", origin, size)
			if verr != nil {
				subject = args[0]
			}
			return a.verdict(subject, verr)
		},
	}
	cmd.Flags().StringVar(&vkey, "key", "", "the verifier key (zhengzhao audit checkpoint prints it)")
	return cmd
}
