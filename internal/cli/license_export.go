package cli

import (
	"fmt"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/platform"
)

// licenseExportCommand is `license export`. The operator on the platform
// host acts as an issuer account (--account) of the license's issuer, the
// organization its identifier names unless --issuer says otherwise: the
// service refuses, as NotFound, a license of another organization, as it
// does over the API. The audit entry names the account.
func (a *app) licenseExportCommand() *cobra.Command {
	var issuer, account, format, out string
	cmd := &cobra.Command{
		Use:   "export [--format document|vc] [-o FILE] ID",
		Short: "Export a license: its signed document, or a W3C Verifiable Credential",
		Long: `export writes the current version of a license, as its issuing organization
exports it over the API:

  document  the signed license document as stored (docs/license-format.md),
            exactly the bytes the issuer's seal signed; check it with
            verify.License
  vc        the same license as a W3C Verifiable Credential 2.0 with its
            BitstringStatusListEntry entries, signed by the platform's
            status-list key (docs/vc.md), as GET /api/v1/licenses/{id}/vc

Each export is recorded in the audit log (license.exported). The output
carries the holder's identifier and the face data: -o writes it readable by
its owner only.`,
		Example: `  zhengzhao license export --format vc -o license.vc.json PC000111350100MB0000027N00000000011
  zhengzhao license export PC000111350100MB0000027N00000000011 > license.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := license.ExportFormat(format)
			if !slices.Contains(license.ExportFormats(), f) {
				return usageErr("--format %q: want document or vc", format)
			}
			if issuer == "" {
				id, err := ids.ParseLicenseID(args[0])
				if err != nil {
					return usageErr("%s is not a license identifier: %v", args[0], err)
				}
				issuer = id.Issuer
			}
			return a.asIssuer(cmd.Context(), issuer, account, func(p *platform.Platform, actor *authz.Actor) error {
				b, err := p.Licenses.Export(cmd.Context(), actor, args[0], f)
				if err != nil {
					return err
				}
				if out == "" {
					_, err := a.stdout.Write(b)
					return err
				}
				if err := os.WriteFile(out, b, 0o600); err != nil {
					return fmt.Errorf("write %s: %w", out, err)
				}
				_, err = fmt.Fprintln(a.stderr, a.t("cli.license.exported", map[string]any{"ID": args[0], "Format": format, "File": out}))
				return err
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&issuer, "issuer", "", "credit code of the license's issuer (default: the one its identifier names)")
	fl.StringVar(&format, "format", string(license.ExportDocument), "document or vc")
	fl.StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	licenseFlags(cmd, &account)
	return cmd
}
