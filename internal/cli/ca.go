package cli

import (
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/pki"
	"github.com/zhengzhao/zhengzhao/internal/platform"
)

func (a *app) printCert(c pki.Cert) error {
	return a.print(httpapi.CertificateOf(c), func(w io.Writer) error {
		p, err := c.PEM()
		if err != nil {
			return err
		}
		_, err = w.Write(p)
		return err
	})
}

func (a *app) caCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "The platform certificate authority: root, seal and issuer certificates, CRL",
		Long: `ca runs the internal certificate authority directly on the store. Its root
certifies the keys of seals and issuers; a seal is valid exactly while its
certificate is. CERT below is a certificate's SHA-256 fingerprint or, for
certificates of the internal root, its serial number (hex).`,
	}
	owner := new(string)
	cmd.PersistentFlags().StringVar(owner, "org", "", "organization owning the key (default: the platform organization)")
	cmd.AddCommand(a.caInitCommand(owner), a.caRootCommand(), a.caIssueCommand(owner), a.caTrustRootCommand(),
		a.caImportCommand(owner), a.caRevokeCommand(), a.caCRLCommand(), a.caVerifyCommand(), a.caListCommand(owner))
	return cmd
}

// caInitCommand is `ca init`; owner is the --org of `ca`.
func (a *app) caInitCommand(owner *string) *cobra.Command {
	var name, cn, alg string
	var years int
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Make the internal root: a CA key and a self-signed certificate; print it (PEM)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withPlatform(ctx, func(p *platform.Platform) error {
				code, err := orgOrPlatform(ctx, p.Orgs, *owner)
				if err != nil {
					return err
				}
				c, err := p.PKI.InitRoot(ctx, code, name, cn, keys.Algorithm(alg), years)
				if err != nil {
					return err
				}
				return a.printCert(c)
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "platform-root", "name of the CA key")
	cmd.Flags().StringVar(&cn, "cn", "zhengzhao 平台根证书", "common name of the root")
	cmd.Flags().StringVar(&alg, "alg", string(keys.DefaultAlgorithm), "SM2-SM3, ECDSA-P256-SHA256 or Ed25519")
	cmd.Flags().IntVar(&years, "years", 20, "validity in years")
	return cmd
}

// caRootCommand is `ca root`.
func (a *app) caRootCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "root",
		Short: "Print the internal root certificate (PEM), for trust bundles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				c, _, err := p.PKI.Root(cmd.Context())
				if err != nil {
					return err
				}
				return a.printCert(c)
			})
		},
	}
}

// caIssueCommand is `ca issue`; owner is the --org of `ca`.
func (a *app) caIssueCommand(owner *string) *cobra.Command {
	var kind, notAfter, cn string
	var days int
	cmd := &cobra.Command{
		Use:   "issue KEY --kind seal|issuer",
		Short: "Certify a key with the internal root; print the certificate (PEM)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			req := pki.IssueRequest{Kind: pki.Kind(kind), CommonName: cn}
			switch {
			case notAfter != "" && days != 0:
				return usageErr("--not-after and --days exclude each other")
			case notAfter != "":
				t, err := time.Parse(time.RFC3339, notAfter)
				if err != nil {
					return usageErr("--not-after %q is not an RFC 3339 time", notAfter)
				}
				req.NotAfter = t
			case days < 0:
				return usageErr("--days must be positive")
			}
			return a.withKey(ctx, *owner, args[0], func(p *platform.Platform, k keyring.Key) error {
				req.KeyID = k.ID
				if days > 0 {
					req.NotBefore = time.Now().UTC().Truncate(time.Second)
					req.NotAfter = req.NotBefore.AddDate(0, 0, days)
				}
				c, err := p.PKI.Issue(ctx, req)
				if err != nil {
					return err
				}
				return a.printCert(c)
			})
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "seal or issuer (required)")
	cmd.Flags().StringVar(&cn, "cn", "", "common name (default: the key's name)")
	cmd.Flags().StringVar(&notAfter, "not-after", "", "last instant of validity, RFC 3339 (default: two years)")
	cmd.Flags().IntVar(&days, "days", 0, "validity in days from now")
	return cmd
}

// caTrustRootCommand is `ca trust-root`.
func (a *app) caTrustRootCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "trust-root FILE",
		Short: "Trust the root certificate of an external CA (PEM)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := readInput(args[0])
			if err != nil {
				return err
			}
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				c, err := p.PKI.TrustExternalRoot(cmd.Context(), b)
				if err != nil {
					return err
				}
				return a.printCert(c)
			})
		},
	}
}

// caImportCommand is `ca import`; owner is the --org of `ca`.
func (a *app) caImportCommand(owner *string) *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:   "import KEY CHAIN.pem --kind seal|issuer",
		Short: "Import a certificate for a key from an external CA (validated to a trusted root)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			b, err := readInput(args[1])
			if err != nil {
				return err
			}
			return a.withKey(ctx, *owner, args[0], func(p *platform.Platform, k keyring.Key) error {
				c, err := p.PKI.Import(ctx, k.ID, pki.Kind(kind), b)
				if err != nil {
					return err
				}
				return a.printCert(c)
			})
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "seal or issuer (required)")
	return cmd
}

// caRevokeCommand is `ca revoke`.
func (a *app) caRevokeCommand() *cobra.Command {
	var reason int
	cmd := &cobra.Command{
		Use:   "revoke CERT",
		Short: "Revoke a certificate of the internal root from now on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				c, err := p.PKI.Revoke(cmd.Context(), args[0], reason)
				if err != nil {
					return err
				}
				return a.printLine(httpapi.CertificateOf(c), fmt.Sprint(c.Fingerprint, " revoked ", c.RevokedAt.Format(time.RFC3339)))
			})
		},
	}
	cmd.Flags().IntVar(&reason, "reason", 0, "RFC 5280 reason code (1 key compromise, 4 superseded, 5 cessation of operation…)")
	return cmd
}

// caCRLCommand is `ca crl`.
func (a *app) caCRLCommand() *cobra.Command {
	var out string
	var asPEM bool
	cmd := &cobra.Command{
		Use:   "crl",
		Short: "Sign a fresh CRL of the internal root (DER, or PEM with --pem)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				der, err := p.PKI.CRL(cmd.Context())
				if err != nil {
					return err
				}
				if asPEM {
					der = pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
				}
				return a.writePublic(out, der)
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write to this file")
	cmd.Flags().BoolVar(&asPEM, "pem", false, "PEM instead of DER")
	return cmd
}

// caVerifyCommand is `ca verify`.
func (a *app) caVerifyCommand() *cobra.Command {
	var at string
	cmd := &cobra.Command{
		Use:   "verify CERT",
		Short: "Verify a stored certificate now or --at a time (exit 0 valid, 1 invalid, 2 usage)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			when := time.Now()
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return usageErr("--at %q is not an RFC 3339 time", at)
				}
				when = t
			}
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				c, err := p.PKI.Verify(cmd.Context(), args[0], when)
				if errors.Is(err, apperr.NotFound) {
					return &exitError{code: ExitUsage, err: err}
				}
				if c.Fingerprint == "" {
					return err
				}
				return a.verdict(c.Fingerprint, err)
			})
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "verify at this RFC 3339 time instead of now")
	return cmd
}

// caListCommand is `ca list`; owner is the --org of `ca`.
func (a *app) caListCommand(owner *string) *cobra.Command {
	var key, kind string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List certificates",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withPlatform(ctx, func(p *platform.Platform) error {
				f := pki.Filter{Kind: pki.Kind(kind)}
				if key != "" {
					k, err := a.resolveKey(ctx, p, *owner, key)
					if err != nil {
						return err
					}
					f.KeyID = k.ID
				}
				cs, err := p.PKI.List(ctx, f)
				if err != nil {
					return err
				}
				return printItems(a, httpapi.ListOf(cs, httpapi.CertificateOf), cs, func(c pki.Cert) string {
					state := "valid-period"
					if c.RevokedAt != nil {
						state = "revoked"
					}
					return fmt.Sprintf("%s  %-13s %-8s %s … %s  %-12s %s", c.Fingerprint[:16], c.Kind, c.Source,
						c.NotBefore.Format("2006-01-02"), c.NotAfter.Format("2006-01-02"), state, c.Subject)
				})
			})
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "only certificates of this key")
	cmd.Flags().StringVar(&kind, "kind", "", "only root, seal, issuer or external-root")
	return cmd
}
