package cli

import (
	"fmt"
	"io"
	"strings"
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
	cmd.AddCommand(a.auditCheckCommand(), a.auditListCommand(), a.auditCheckpointCommand(), a.auditVerifyCheckpointCommand(),
		a.auditWitnessKeyCommand(), a.auditWitnessCommand(), a.auditVerifyCommand())
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
	var witnesses []string
	var minWitnesses int
	cmd := &cobra.Command{
		Use:   "verify-checkpoint FILE --key VERIFIER_KEY [--witness VKEY]... [--min-witnesses K]",
		Short: "Verify a signed checkpoint and, with --witness, k of n witness cosignatures (exit 0 valid, 1 invalid, 2 usage)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if vkey == "" {
				return usageErr("--key is required")
			}
			if !cmd.Flags().Changed("min-witnesses") {
				minWitnesses = len(witnesses) // every witness named, unless told fewer suffice
			}
			if minWitnesses < 0 || minWitnesses > len(witnesses) {
				return usageErr("--min-witnesses must be 0 to the number of --witness keys (%d)", len(witnesses))
			}
			for _, w := range witnesses {
				if _, err := auditlog.ParseWitness(w); err != nil {
					return usageErr("--witness %q: %v", w, err)
				}
			}
			msg, err := readInput(args[0])
			if err != nil {
				return err
			}
			origin, size, cosigned, verr := auditlog.VerifyWitnessed(msg, vkey, witnesses, minWitnesses)
			subject := fmt.Sprintf("%s@%d", origin, size)
			if origin == "" {
				subject = args[0]
			}
			if len(cosigned) > 0 && !a.json {
				fmt.Fprintln(a.stderr, a.t("cli.witness.cosigners", map[string]any{"Names": strings.Join(cosigned, ", ")}))
			}
			return a.verdict(subject, verr)
		},
	}
	cmd.Flags().StringVar(&vkey, "key", "", "the verifier key (zhengzhao audit checkpoint prints it)")
	cmd.Flags().StringArrayVar(&witnesses, "witness", nil, "verifier key of a witness (repeatable)")
	cmd.Flags().IntVar(&minWitnesses, "min-witnesses", 0, "cosignatures of this many of the --witness keys are required (default: all of them)")
	return cmd
}
