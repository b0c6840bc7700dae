package cli

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"zhengzhao/internal/auditlog"
)

func (a *app) auditCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "The tamper-evident audit log",
	}
	check := &cobra.Command{
		Use:   "check",
		Short: "Recompute the audit log's Merkle root from every entry (exit 0 intact, 1 tampered)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, done, err := a.platform(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			tree, cerr := auditlog.Check(cmd.Context(), p.db)
			if a.json {
				out := map[string]any{"size": tree.Size, "root": hex.EncodeToString(tree.Root), "intact": cerr == nil}
				if cerr != nil {
					out["reason"] = cerr.Error()
				}
				if err := a.printJSON(out); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(a.stdout, "size %d  root %x\n", tree.Size, tree.Root)
			}
			if cerr != nil {
				if !a.json {
					fmt.Fprintln(a.stdout, cerr)
				}
				return &exitError{code: ExitInvalid}
			}
			return nil
		},
	}
	var from, limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "Print audit entries from an index",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from < 0 || limit < 1 || limit > 10000 {
				return usageErr("--from must be ≥ 0 and --limit 1 to 10000")
			}
			p, done, err := a.platform(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			entries, _, err := p.db.AuditEntries(cmd.Context(), uint64(from), uint64(from+limit))
			if err != nil {
				return err
			}
			if a.json {
				if entries == nil {
					entries = []auditlog.Entry{}
				}
				return a.printJSON(map[string]any{"items": entries})
			}
			for _, e := range entries {
				fmt.Fprintf(a.stdout, "%6d  %s  %-28s %-20s %s  %v\n", e.Index, e.At.Format(time.RFC3339), e.Action, e.Subject, e.Actor, e.Details)
			}
			return nil
		},
	}
	list.Flags().IntVar(&from, "from", 0, "first index")
	list.Flags().IntVar(&limit, "limit", 100, "at most this many")
	cmd.AddCommand(check, list)
	return cmd
}
