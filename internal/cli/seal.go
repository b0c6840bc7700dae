package cli

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/spf13/cobra"

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

	var trustFile, pinnedRoot string
	verifyCmd := &cobra.Command{
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
			if trustFile == "" {
				return usageErr("%s", a.t("cli.seal.trust-required", nil))
			}
			if pinnedRoot != "" {
				if _, err := verify.NormalizeFingerprint(pinnedRoot); err != nil {
					return usageErr("%s", a.t("cli.seal.bad-fingerprint", map[string]any{"Value": pinnedRoot}))
				}
			}
			raw, err := readInput(trustFile)
			if err != nil {
				return err
			}
			bundle, err := verify.OpenBundle(raw, pinnedRoot)
			if err != nil {
				return usageErr("%s", a.bundleError(trustFile, err))
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
			if a.json {
				if err := a.printJSON(v); err != nil {
					return err
				}
			} else {
				a.printVerdict(v)
				key := "cli.seal.bundle-root"
				if pinnedRoot != "" {
					key = "cli.seal.bundle-root-pinned"
				}
				fmt.Fprintln(a.stdout, a.t(key, map[string]any{"Root": bundle.Signature.Root, "At": bundle.GeneratedAt.Format(time.RFC3339)}))
			}
			if !v.Valid {
				return &exitError{code: ExitInvalid}
			}
			return nil
		},
	}
	verifyCmd.Flags().StringVar(&trustFile, "trust", "", "trust bundle file (JSON)")
	verifyCmd.Flags().StringVar(&pinnedRoot, "root-fingerprint", "", "SHA-256 fingerprint (hex) of the platform root that must have signed the trust bundle")

	var out string
	bundle := &cobra.Command{
		Use:   "trust-bundle",
		Short: "Export the trust bundle for offline verification (JSON, signed by the platform root)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				b, err := p.Seals.TrustBundle(cmd.Context())
				if err != nil {
					return err
				}
				data, err := json.MarshalIndent(b, "", "  ")
				if err != nil {
					return err
				}
				data = append(data, '\n')
				return a.writePublic(out, data)
			})
		},
	}
	bundle.Flags().StringVar(&out, "out", "", "write to this file")

	digest := &cobra.Command{
		Use:   "digest FILE",
		Short: "Print the SM3 digest of a file (hex), as use requests name documents",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := readInput(args[0])
			if err != nil {
				return err
			}
			h := sm3.Sum(b)
			if a.json {
				return a.printJSON(map[string]string{"file": args[0], "sm3": hex.EncodeToString(h[:])})
			}
			fmt.Fprintln(a.stdout, hex.EncodeToString(h[:]))
			return nil
		},
	}

	cmd.AddCommand(verifyCmd, bundle, digest)
	return cmd
}

// printVerdict prints one line per check and the outcome.
func (a *app) printVerdict(v verify.Verdict) {
	for _, c := range v.Checks {
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
		fmt.Fprintln(a.stdout, line)
	}
	outcome := a.t("cli.valid", nil)
	if !v.Valid {
		outcome = a.t("cli.invalid", nil)
	}
	fmt.Fprintf(a.stdout, "%s %s (%s)\n", v.SealCode, outcome, v.SignedAt.Format(time.RFC3339))
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
