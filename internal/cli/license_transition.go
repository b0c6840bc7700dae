package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/platform"
)

// licenseTransitionCommand is `license transition`.
func (a *app) licenseTransitionCommand() *cobra.Command {
	var account, issuer, face string
	var req license.TransitionRequest
	var operation string
	until := &timeFlag{}
	ops := make([]string, 0, len(license.Operations()))
	for _, op := range license.Operations() {
		ops = append(ops, string(op))
	}
	cmd := &cobra.Command{
		Use:   "transition ID --operation OP --reason TEXT",
		Short: "Apply a lifecycle operation to a license (change, renew, suspend, resume, pledge, release, report-lost, reissue, revoke, cancel, abolish)",
		Long: `transition applies one operation of the lifecycle table (docs/licenses.md,
"Lifecycle") to a license, as POST /api/v1/licenses/{id}/transitions does: the
license is re-read in the transaction, an operation the table does not allow
from its current state is refused naming that state, and the state change, its
status bits, the history record, the audit entry and the outbox event commit
together. change, renew and reissue sign a new version with the organization's
bound license-issuing seal; the old version stays readable and its status is
set to superseded.

--face (change) takes a JSON object or @FILE; --type-version (change) an
approved template version; --valid-until (change, renew) RFC 3339 or a date,
for a type whose end the issuer sets. The organization acted for is the
license's issuer: the one its identifier names unless --issuer says otherwise
(a license moved to another issuer keeps its identifier).`,
		Example: `  zhengzhao license transition PC000111350100MB0000027N00000000017 --operation suspend --reason 核查经营场所
  zhengzhao license transition PC000111350100MB0000027N00000000017 --operation change --reason 住址变更 --face @face.json
  zhengzhao license transition PC000111350100MB0000027N00000000017 --operation revoke --reason 依法吊销 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			issuer, err := licenseIssuer(args[0], issuer)
			if err != nil {
				return err
			}
			req.Operation, req.ValidUntil = license.Operation(strings.TrimSpace(operation)), until.t
			if face != "" {
				if req.Face, err = a.faceArg(face); err != nil {
					return err
				}
			}
			return a.asIssuer(cmd.Context(), issuer, account, func(p *platform.Platform, actor *authz.Actor) error {
				out, err := p.Licenses.Transition(cmd.Context(), actor, args[0], req)
				if err != nil {
					return err
				}
				l := out.License
				return a.printLine(httpapi.LicenseOf(l), a.t("cli.license.transitioned", map[string]any{"ID": l.ID,
					"Operation": out.Record.Operation, "From": out.Record.From, "To": out.Record.To, "Version": l.Version}))
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&operation, "operation", "", "the operation: "+strings.Join(ops, ", ")+" (required)")
	f.StringVar(&req.Reason, "reason", "", "why, for the history, the audit log and the holder (required)")
	f.StringVar(&face, "face", "", "change: the new face data, a JSON object or @FILE (default: unchanged)")
	f.IntVar(&req.TypeVersion, "type-version", 0, "change: the approved template version (default: unchanged)")
	f.Var(until, "valid-until", "change, renew: the new end of validity, for a type whose end the issuer sets")
	f.StringVar(&issuer, "issuer", "", "credit code of the license's issuer (default: the one its identifier names)")
	licenseFlags(cmd, &account)
	for _, name := range []string{"operation", "reason"} {
		if err := cmd.MarkFlagRequired(name); err != nil {
			panic(err) // only if a flag defined above was renamed: a programming error
		}
	}
	return cmd
}
