package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/verify"
)

// licenseVerifyCommand is `license verify`.
func (a *app) licenseVerifyCommand() *cobra.Command {
	var trustFile, pinnedRoot string
	var maxAge time.Duration
	cmd := &cobra.Command{
		Use:   "verify [--trust TRUST.json [--root-fingerprint HEX]] DOCUMENT",
		Short: "Verify a signed license document (exit 0 valid, 1 invalid, 2 usage or a bad trust bundle)",
		Long: `verify checks a signed license document (GET /api/v1/licenses/{id}/document)
and prints every check: the seal signature (for a batch-signed document, over
its batch, and the license's inclusion proof, batch-inclusion) and the seal's
state at signing time, the certificate chains, the issuer's license-issuing seal, the validity
window, the status bits and the approved type version.

With --trust it works offline, from a trust bundle alone (zhengzhao license
trust-bundle, or GET /api/v1/licenses/trust-bundle) and opens no store: the
status is as of the bundle's snapshot of the status lists, and a snapshot
older than --max-status-age leaves it unknown (not valid). Pin the platform
root with --root-fingerprint (zhengzhao ca root --json); an unsigned, changed
or unpinned bundle exits 2.

Without --trust it verifies against the store, with the status bits as they
are now, and records the verification in the audit log.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if trustFile == "" && pinnedRoot != "" {
				return usageErr("%s", a.t("cli.license.pin-without-trust", nil))
			}
			doc, err := readInput(args[0])
			if err != nil {
				return err
			}
			var v verify.Verdict
			var footer func(w io.Writer) error
			if trustFile != "" {
				bundle, err := a.openBundle(trustFile, pinnedRoot)
				if err != nil {
					return err
				}
				v = verify.License(cmd.Context(), doc, bundle, time.Now(), verify.MaxStatusAge(maxAge))
				footer = func(w io.Writer) error { return a.printBundleRoot(w, bundle, pinnedRoot) }
			} else {
				err := a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
					v, err = p.Trust.Verify(cmd.Context(), nil, doc)
					return err
				})
				if err != nil {
					return err
				}
			}
			err = a.print(v, func(w io.Writer) error {
				a.printChecks(w, v.Checks)
				outcome := a.t("cli.valid", nil)
				if !v.Valid {
					outcome = a.t("cli.invalid", nil)
				}
				id := v.LicenseID
				if id == "" {
					id = "-"
				}
				fmt.Fprintf(w, "%s %s (%s %s)\n", id, outcome, v.SealCode, v.SignedAt.Format(time.RFC3339))
				if footer != nil {
					return footer(w)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if !v.Valid {
				return &exitError{code: ExitInvalid}
			}
			return nil
		},
	}
	trustFlags(cmd, &trustFile, &pinnedRoot, &maxAge)
	return cmd
}

// trustFlags are the flags of a verification that may work offline: the
// trust bundle, the root pinned for it and how old its status lists may be.
func trustFlags(cmd *cobra.Command, trustFile, pinnedRoot *string, maxAge *time.Duration) {
	cmd.Flags().StringVar(trustFile, "trust", "", "trust bundle file (JSON): verify offline, without a store")
	cmd.Flags().StringVar(pinnedRoot, "root-fingerprint", "", "SHA-256 fingerprint (hex) of the platform root that must have signed the trust bundle")
	cmd.Flags().DurationVar(maxAge, "max-status-age", verify.DefaultMaxStatusAge, "offline: how old the bundle's status lists may be; 0 for no limit")
}

// licenseTrustBundleCommand is `license trust-bundle`.
func (a *app) licenseTrustBundleCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "trust-bundle",
		Short: "Export the trust bundle for offline license verification (JSON, signed by the platform root)",
		Long: `trust-bundle writes what offline license verification needs, signed by the
platform root: the seal trust bundle (zhengzhao seal trust-bundle) with a
snapshot of every status list and the approved license type versions. It is
also served without a token at GET /api/v1/licenses/trust-bundle.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				b, err := p.Trust.Bundle(cmd.Context())
				if err != nil {
					return err
				}
				return a.writeBundle(out, b)
			})
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "write to this file")
	return cmd
}
