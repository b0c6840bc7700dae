package cli

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/verify"
)

func (a *app) sealCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "seal",
		Short: "Electronic seals: verify signatures offline, export the trust bundle",
		Long: `seal verifies GB/T 38540 seal signatures and exports what offline verification
needs. Applying for, approving, making and using seals go through the API
(/api/v1/orgs/{credit_code}/seal-applications, /api/v1/seals/...); see
examples/seal-lifecycle.sh.`,
	}
	cmd.AddCommand(a.sealVerifyCommand(), a.sealTrustBundleCommand(), a.sealDigestCommand(), a.sealBindingCommand())
	return cmd
}

// sealVerifyCommand is `seal verify`.
func (a *app) sealVerifyCommand() *cobra.Command {
	var trustFile, pinnedRoot string
	cmd := &cobra.Command{
		Use:   "verify --trust TRUST.json [--root-fingerprint HEX] DOCUMENT SIGNATURE",
		Short: "Verify a seal signature offline (exit 0 valid, 1 invalid, 2 usage or a bad trust bundle)",
		Long: `verify checks a GB/T 38540 signature (DER) over a document with only a trust
bundle (zhengzhao seal trust-bundle, or GET /api/v1/seals/trust-bundle): the
signature, the document hash, the maker's signature on the seal, the
certificate chains at signing time, the seal's validity and its state at
signing time, and — for information — its state now. No store is opened.

The bundle must carry a valid signature of one of its roots. With
--root-fingerprint it must be the root with that SHA-256 fingerprint (pin the
one the platform publishes: zhengzhao ca root --json, GET /api/v1/ca/root);
without it, compare the fingerprint printed with the published one. An
unsigned or changed bundle exits 2.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			bundle, err := a.openBundle(trustFile, pinnedRoot)
			if err != nil {
				return err
			}
			doc, err := readInput(args[0])
			if err != nil {
				return err
			}
			sig, err := readInput(args[1])
			if err != nil {
				return err
			}
			v := verify.Seal(cmd.Context(), bundle, sig, doc, nil, time.Now())
			err = a.print(v, func(w io.Writer) error {
				a.printVerdict(w, v)
				return a.printBundleRoot(w, bundle, pinnedRoot)
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
	cmd.Flags().StringVar(&trustFile, "trust", "", "trust bundle file (JSON)")
	cmd.Flags().StringVar(&pinnedRoot, "root-fingerprint", "", "SHA-256 fingerprint (hex) of the platform root that must have signed the trust bundle")
	return cmd
}

// openBundle reads the trust bundle in file and checks its signature,
// by the root pinnedRoot names when it is not empty; a bundle that cannot
// be used is a usage error.
func (a *app) openBundle(file, pinnedRoot string) (*verify.Bundle, error) {
	if file == "" {
		return nil, usageErr("%s", a.t("cli.seal.trust-required", nil))
	}
	if pinnedRoot != "" {
		if _, err := verify.NormalizeFingerprint(pinnedRoot); err != nil {
			return nil, usageErr("%s", a.t("cli.seal.bad-fingerprint", map[string]any{"Value": pinnedRoot}))
		}
	}
	raw, err := readInput(file)
	if err != nil {
		return nil, err
	}
	bundle, err := verify.OpenBundle(raw, pinnedRoot)
	if err != nil {
		return nil, usageErr("%s", a.bundleError(file, err))
	}
	return bundle, nil
}

// sealTrustBundleCommand is `seal trust-bundle`.
func (a *app) sealTrustBundleCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "trust-bundle",
		Short: "Export the trust bundle for offline verification (JSON, signed by the platform root)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				b, err := p.Seals.TrustBundle(cmd.Context())
				if err != nil {
					return err
				}
				return a.writeBundle(out, b)
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write to this file")
	return cmd
}

// writeBundle writes a signed trust bundle as indented JSON to path, or
// to stdout when path is empty.
func (a *app) writeBundle(path string, b verify.Bundle) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	return a.writePublic(path, append(data, '\n'))
}

// sealBindingCommand is `seal binding`.
func (a *app) sealBindingCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "binding SEAL",
		Short: "Show the binding of a license-issuing seal to license issuance",
		Long: `binding shows what the approved bind application of a license-issuing seal
allows: the service that signs with it without a PIN, the license types it
may sign (all when none is named) and when the binding lapses. A seal that is
not bound is not found (exit 1). Bind and unbind applications go through the
API (POST /api/v1/orgs/{credit_code}/seal-applications, actions bind and
unbind).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				b, err := p.Seals.Binding(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				out := httpapi.SealBindingOf(b, p.Seals.InForce(b))
				types := strings.Join(out.LicenseTypes, ",")
				if types == "" {
					types = "*"
				}
				until := "-"
				if out.Until != nil {
					until = out.Until.Format(time.RFC3339)
				}
				return a.printLine(out, fmt.Sprintf("%s %s types=%s until=%s in_force=%t application=%s bound_at=%s",
					out.SealID, out.Service, types, until, out.InForce, out.ApplicationID, out.BoundAt.Format(time.RFC3339)))
			})
		},
	}
}

// sealDigestCommand is `seal digest`.
func (a *app) sealDigestCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "digest FILE",
		Short: "Print the SM3 digest of a file (hex), as use requests name documents",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := readInput(args[0])
			if err != nil {
				return err
			}
			h := sm3.Sum(b)
			sum := hex.EncodeToString(h[:])
			return a.printLine(map[string]string{"file": args[0], "sm3": sum}, sum)
		},
	}
}

// printBundleRoot prints which root signed a trust bundle, and when it
// was made: to compare with the published fingerprint when none was
// pinned.
func (a *app) printBundleRoot(w io.Writer, bundle *verify.Bundle, pinnedRoot string) error {
	key := "cli.seal.bundle-root"
	if pinnedRoot != "" {
		key = "cli.seal.bundle-root-pinned"
	}
	_, err := fmt.Fprintln(w, a.t(key, map[string]any{"Root": bundle.Signature.Root, "At": bundle.GeneratedAt.Format(time.RFC3339)}))
	return err
}

// printVerdict prints one line per check and the outcome.
func (a *app) printVerdict(w io.Writer, v verify.Verdict) {
	a.printChecks(w, v.Checks)
	outcome := a.t("cli.valid", nil)
	if !v.Valid {
		outcome = a.t("cli.invalid", nil)
	}
	fmt.Fprintf(w, "%s %s (%s)\n", v.SealCode, outcome, v.SignedAt.Format(time.RFC3339))
}

// printChecks prints one line per check: ✓ passed, ✗ failed, ! an
// informational check that did not pass.
func (a *app) printChecks(w io.Writer, checks []verify.Check) {
	for _, c := range checks {
		mark := "✓"
		switch {
		case !c.OK && c.Informational:
			mark = "!"
		case !c.OK:
			mark = "✗"
		}
		line := fmt.Sprintf("%s %-20s", mark, c.Name)
		if c.Reason != "" {
			line += " " + c.Reason
		}
		fmt.Fprintln(w, line)
	}
}

// bundleError says in one line, in the user's language, why a trust bundle
// cannot be used.
func (a *app) bundleError(file string, err error) string {
	key := "cli.seal.bundle-malformed"
	switch {
	case errors.Is(err, verify.ErrUnsignedBundle):
		key = "cli.seal.bundle-unsigned"
	case errors.Is(err, verify.ErrBundleSignature):
		key = "cli.seal.bundle-tampered"
	case errors.Is(err, verify.ErrRootNotPinned):
		key = "cli.seal.bundle-not-pinned"
	}
	return a.t(key, map[string]any{"File": file, "Detail": oneLine(err.Error())})
}
