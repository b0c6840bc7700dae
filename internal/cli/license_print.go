package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/platform"
)

// licensePrintCommand is `license print`.
func (a *app) licensePrintCommand() *cobra.Command {
	var issuer, account, out string
	var masked bool
	cmd := &cobra.Command{
		Use:   "print --out FILE.pdf [--masked] [--lang en] ID",
		Short: "Write the printable copy of a license as a PDF (打印件)",
		Long: `print renders the printable copy of the current version of a license
(docs/printout.md): one A4 page of its face in the language of --lang, the
issuing seal, and a QR code that verifies the paper — a payload signed by the
presentation key, valid until the license's end (docs/qr-format.md) — with the
signed document attached as license.json. --masked masks personal and
sensitive fields and attaches nothing. The operator acts as an issuer account
(--account) of the license's issuer; each copy is recorded in the audit log
(license.printed). Check the QR code with zhengzhao verify-qr.`,
		Example: `  zhengzhao license print --out permit.pdf --masked --lang en PC000111350100MB0000027N00000000011`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			issuer, err := licenseIssuer(args[0], issuer)
			if err != nil {
				return err
			}
			return a.asIssuer(cmd.Context(), issuer, account, func(p *platform.Platform, actor *authz.Actor) error {
				pdf, err := p.Licenses.Printout(cmd.Context(), actor, args[0], license.PrintOptions{Masked: masked, Lang: string(a.cfg.Language())})
				if err != nil {
					return err
				}
				if err := os.WriteFile(out, pdf, 0o600); err != nil {
					return fmt.Errorf("write %s: %w", out, err)
				}
				return a.print(map[string]any{"file": out, "bytes": len(pdf)},
					func(w io.Writer) error { _, err := fmt.Fprintln(w, out); return err })
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&issuer, "issuer", "", "credit code of the license's issuer (default: the one its identifier names)")
	fl.StringVar(&out, "out", "", "the PDF file to write")
	fl.BoolVar(&masked, "masked", false, "mask personal and sensitive fields; attach no signed document")
	licenseFlags(cmd, &account)
	if err := cmd.MarkFlagRequired("out"); err != nil {
		panic(err) // the flag is defined just above
	}
	return cmd
}
