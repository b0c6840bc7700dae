package cli

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/envelope"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
)

// SignatureFormat names the detached signature files of `key sign`.
const SignatureFormat = "zhengzhao-signature/v1"

// signatureFile is a detached signature: which key, which algorithm, and the
// signature bytes (DER for SM2 and ECDSA, raw for Ed25519).
type signatureFile struct {
	Format    string `json:"format"`
	KeyID     string `json:"key_id"`
	Algorithm string `json:"algorithm"`
	Signature []byte `json:"signature"`
}

// readInput reads a file named on the command line; a file that cannot be
// read is a usage error (exit 2).
func readInput(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErr("read %s: %v", path, errors.Unwrap(err))
	}
	return b, nil
}

// resolveKey finds a key by ID, or by name within orgCode (default: the
// platform organization).
func (a *app) resolveKey(ctx context.Context, p *platform.Platform, orgCode, ref string) (keyring.Key, error) {
	code, err := orgOrPlatform(ctx, p.Orgs, orgCode)
	if err != nil {
		return keyring.Key{}, err
	}
	return p.Keys.Resolve(ctx, code, ref)
}

// withKey runs fn on the opened platform and the key ref names (see
// resolveKey).
func (a *app) withKey(ctx context.Context, orgCode, ref string, fn func(p *platform.Platform, k keyring.Key) error) error {
	return a.withPlatform(ctx, func(p *platform.Platform) error {
		k, err := a.resolveKey(ctx, p, orgCode, ref)
		if err != nil {
			return err
		}
		return fn(p, k)
	})
}

// orgOrPlatform returns code, or the platform organization's when empty.
func orgOrPlatform(ctx context.Context, svc *org.Service, code string) (string, error) {
	if code != "" {
		return code, nil
	}
	p, err := svc.Platform(ctx)
	if err != nil {
		return "", err
	}
	return p.CreditCode, nil
}

func (a *app) keyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Manage signing keys, the master key and the data keys",
		Long: `key manages the platform's signing keys directly in the store. A key is named
within its organization; KEY below is a key ID or a name (the latest version).
Rotation makes the next version and retires the old one, which still verifies.`,
	}
	owner := new(string)
	cmd.PersistentFlags().StringVar(owner, "org", "", "organization owning the key (default: the platform organization)")
	cmd.AddCommand(a.rotateDataKeysCommand(), a.dataKeysCommand())
	cmd.AddCommand(a.keyCreateCommand(owner), a.keyListCommand(owner),
		a.keyChangeCommand(owner, "rotate", "Make the next version of a key and retire this one; print the new ID", (*keyring.Service).Rotate),
		a.keyChangeCommand(owner, "disable", "Stop a key from signing", (*keyring.Service).Disable),
		a.keyChangeCommand(owner, "enable", "Let a disabled key sign again", (*keyring.Service).Enable),
		a.keyExportCommand(owner), a.keySignCommand(owner), a.keyVerifyCommand(), a.rotateMasterCommand())
	return cmd
}

// printKey prints a key: its record with --json, else its ID.
func (a *app) printKey(k keyring.Key) error {
	return a.printLine(httpapi.KeyOf(k), k.ID)
}

// keyCreateCommand is `key create`; owner is the --org of `key`.
func (a *app) keyCreateCommand(owner *string) *cobra.Command {
	var n keyring.NewKey
	var alg, purpose, backend string
	cmd := &cobra.Command{
		Use:     "create --name NAME --purpose PURPOSE",
		Short:   "Create a key pair; print its ID",
		Example: "  zhengzhao key create --name seal-main --purpose seal --alg SM2-SM3",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withPlatform(ctx, func(p *platform.Platform) error {
				org, err := orgOrPlatform(ctx, p.Orgs, *owner)
				if err != nil {
					return err
				}
				n.Org = org
				n.Purpose, n.Algorithm, n.Backend = keyring.Purpose(purpose), keys.Algorithm(alg), keyring.Backend(backend)
				k, err := p.Keys.Create(ctx, n)
				if err != nil {
					return err
				}
				return a.printKey(k)
			})
		},
	}
	cmd.Flags().StringVar(&n.Name, "name", "", "key name, unique in the organization (a-z 0-9 . _ -)")
	cmd.Flags().StringVar(&purpose, "purpose", "", "seal, license-signing, presentation, checkpoint, ca or status-list")
	cmd.Flags().StringVar(&alg, "alg", string(keys.DefaultAlgorithm), "SM2-SM3, ECDSA-P256-SHA256 or Ed25519")
	cmd.Flags().StringVar(&backend, "backend", string(keyring.Software), "software (encrypted under the master key) or pkcs11")
	return cmd
}

// keyListCommand is `key list`; owner is the --org of `key`.
func (a *app) keyListCommand(owner *string) *cobra.Command {
	var f keyring.Filter
	var purpose, state string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				f.Org, f.Purpose, f.State = *owner, keyring.Purpose(purpose), keyring.State(state)
				if f.Limit == 0 {
					f.Limit = 500
				}
				ks, err := p.Keys.List(cmd.Context(), f)
				if err != nil {
					return err
				}
				return printItems(a, httpapi.ListOf(ks, httpapi.KeyOf), ks, func(k keyring.Key) string {
					return fmt.Sprintf("%s  %s  %-16s v%-3d %-16s %-18s %-8s %s", k.ID, k.Org, k.Name, k.Version, k.Purpose, k.Algorithm, k.Backend, k.State)
				})
			})
		},
	}
	cmd.Flags().StringVar(&purpose, "purpose", "", "only this purpose")
	cmd.Flags().StringVar(&state, "state", "", "only active, disabled or retired keys")
	cmd.Flags().IntVar(&f.Limit, "limit", 0, "at most this many (default 500)")
	return cmd
}

// keyChangeCommand is a command that changes a key's state with do (rotate,
// disable, enable) and prints the key it leaves.
func (a *app) keyChangeCommand(owner *string, use, short string, do func(*keyring.Service, context.Context, string) (keyring.Key, error)) *cobra.Command {
	return &cobra.Command{
		Use: use + " KEY", Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withKey(ctx, *owner, args[0], func(p *platform.Platform, k keyring.Key) error {
				k, err := do(p.Keys, ctx, k.ID)
				if err != nil {
					return err
				}
				return a.printKey(k)
			})
		},
	}
}

// keyExportCommand is `key export-public`.
func (a *app) keyExportCommand(owner *string) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export-public KEY",
		Short: "Print a key's public key as PEM (SubjectPublicKeyInfo) or JWK",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "pem" && format != "jwk" {
				return usageErr("--format is pem or jwk")
			}
			ctx := cmd.Context()
			return a.withKey(ctx, *owner, args[0], func(p *platform.Platform, k keyring.Key) error {
				if format == "pem" {
					_, err := a.stdout.Write(k.PublicPEM)
					return err
				}
				pub, err := k.Public()
				if err != nil {
					return err
				}
				jwk, err := keys.PublicJWK(pub)
				if err != nil {
					return err
				}
				jwk["kid"] = k.ID
				return a.printJSON(jwk)
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "pem", "pem or jwk")
	return cmd
}

// keySignCommand is `key sign`.
func (a *app) keySignCommand(owner *string) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "sign KEY FILE",
		Short: "Sign a file; write a detached signature (JSON) to stdout or --out",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			msg, err := readInput(args[1])
			if err != nil {
				return err
			}
			return a.withKey(ctx, *owner, args[0], func(p *platform.Platform, k keyring.Key) error {
				sig, k, err := p.Keys.Sign(ctx, k.ID, msg)
				if err != nil {
					return err
				}
				b, _ := json.MarshalIndent(signatureFile{Format: SignatureFormat, KeyID: k.ID, Algorithm: string(k.Algorithm), Signature: sig}, "", "  ")
				b = append(b, '\n')
				return a.writePublic(out, b)
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write the signature to this file")
	return cmd
}

// keyVerifyCommand is `key verify`.
func (a *app) keyVerifyCommand() *cobra.Command {
	var publicPEM string
	cmd := &cobra.Command{
		Use:   "verify FILE SIGNATURE",
		Short: "Verify a detached signature (exit 0 valid, 1 invalid, 2 usage)",
		Long: `verify checks a signature made by key sign. With --public it works offline
from the public key alone; without, it looks the key up in the store (any
state: retired and disabled keys still verify what they signed).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			msg, err := readInput(args[0])
			if err != nil {
				return err
			}
			sf, alg, err := readSignatureFile(args[1])
			if err != nil {
				return err
			}
			var verr error
			if publicPEM != "" {
				verr, err = verifyOffline(publicPEM, alg, msg, sf.Signature)
			} else {
				verr, err = a.verifyInStore(cmd.Context(), sf.KeyID, alg, msg, sf.Signature)
			}
			if err != nil {
				return err
			}
			return a.verdict(sf.KeyID, verr)
		},
	}
	cmd.Flags().StringVar(&publicPEM, "public", "", "verify offline with this PEM public key")
	return cmd
}

// readSignatureFile reads a detached signature of `key sign`; one that
// cannot be read is a usage error.
func readSignatureFile(path string) (signatureFile, keys.Algorithm, error) {
	raw, err := readInput(path)
	if err != nil {
		return signatureFile{}, "", err
	}
	var sf signatureFile
	if err := json.Unmarshal(raw, &sf); err != nil || sf.Format != SignatureFormat || len(sf.Signature) == 0 {
		return signatureFile{}, "", usageErr("%s is not a %s file", path, SignatureFormat)
	}
	alg, err := keys.ParseAlgorithm(sf.Algorithm)
	if err != nil {
		return signatureFile{}, "", usageErr("%s: %v", path, err)
	}
	return sf, alg, nil
}

// verifyOffline verifies sig with the public key in the PEM file pemPath.
// verr says why the signature is not valid; err, why it could not be
// checked.
func verifyOffline(pemPath string, alg keys.Algorithm, msg, sig []byte) (verr, err error) {
	pemBytes, err := readInput(pemPath)
	if err != nil {
		return nil, err
	}
	pub, _, err := keys.ParsePublicPEM(pemBytes)
	if err != nil {
		return nil, usageErr("%s: %v", pemPath, err)
	}
	return keys.Verify(alg, pub, msg, sig), nil
}

// verifyInStore verifies sig with the stored key keyID, whatever its state.
// verr says why the signature is not valid; err, why it could not be
// checked.
func (a *app) verifyInStore(ctx context.Context, keyID string, alg keys.Algorithm, msg, sig []byte) (verr, err error) {
	err = a.withPlatform(ctx, func(p *platform.Platform) error {
		k, err := p.Keys.Get(ctx, keyID)
		if err != nil {
			return err
		}
		if k.Algorithm != alg {
			verr = fmt.Errorf("signature says %s, key %s is %s", alg, k.ID, k.Algorithm)
			return nil
		}
		_, verr = p.Keys.Verify(ctx, k.ID, msg, sig)
		return nil
	})
	return verr, err
}

// rotateMasterCommand is `key rotate-master`.
func (a *app) rotateMasterCommand() *cobra.Command {
	var nextFile string
	cmd := &cobra.Command{
		Use:   "rotate-master --new-master-key-file FILE",
		Short: "Re-wrap every data key under a new master key",
		Long: `rotate-master re-wraps every data key under the master key in FILE (created,
mode 0600, when it does not exist) in one transaction, and records it as the
store's master key. Running servers keep serving on the data keys they hold;
then replace the master key file with FILE and restart them at leisure. A
server started with the old file refuses to start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if nextFile == "" {
				return usageErr("--new-master-key-file is required")
			}
			current, next, err := a.masterKeys(nextFile)
			if err != nil {
				return err
			}
			return a.withPlatform(ctx, func(p *platform.Platform) error {
				n, err := p.DB.RotateMaster(ctx, current, next)
				if err != nil {
					return err
				}
				return a.printLine(map[string]any{"rewrapped": n, "master_key_id": next.ID(), "master_key_file": nextFile},
					a.t("cli.master-key.rotated", map[string]any{"N": n, "ID": next.ID(), "File": nextFile, "Old": a.cfg.MasterKeyPath()}))
			})
		},
	}
	cmd.Flags().StringVar(&nextFile, "new-master-key-file", "", "the new master key file (created when missing)")
	return cmd
}

// masterKeys loads the current master key and the one in nextFile, made
// when the file does not exist; the two must differ.
func (a *app) masterKeys(nextFile string) (current, next *envelope.MasterKey, err error) {
	current, err = envelope.LoadMasterKeyFile(a.cfg.MasterKeyPath())
	if err != nil {
		return nil, nil, err
	}
	if err := envelope.GenerateMasterKeyFile(nextFile, rand.Reader); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, nil, err
	}
	next, err = envelope.LoadMasterKeyFile(nextFile)
	if err != nil {
		return nil, nil, err
	}
	if next.Equal(current) {
		return nil, nil, usageErr("the new master key is the current one")
	}
	return current, next, nil
}

// verdict reports the outcome of a verification command: exit 0 when valid,
// 1 when not.
func (a *app) verdict(subject string, verr error) error {
	out := map[string]any{"subject": subject, "valid": true}
	line := fmt.Sprintf("%s: %s", subject, a.t("cli.valid", nil))
	if verr != nil {
		out["valid"], out["reason"] = false, reasonOf(verr)
		line = fmt.Sprintf("%s: %s — %s", subject, a.t("cli.invalid", nil), reasonOf(verr))
	}
	if err := a.printLine(out, line); err != nil {
		return err
	}
	if verr != nil {
		return &exitError{code: ExitInvalid}
	}
	return nil
}

// reasonOf is the short reason a verification failed: the broken rule and
// its detail for classified errors.
func reasonOf(err error) string {
	var ae *apperr.Error
	if errors.As(err, &ae) && len(ae.Fields) > 0 {
		return ae.Fields[0].Rule + ": " + ae.Fields[0].Detail
	}
	if errors.As(err, &ae) {
		return ae.Detail
	}
	return err.Error()
}

// rotateDataKeysCommand is `key rotate-data-keys`.
func (a *app) rotateDataKeysCommand() *cobra.Command {
	var purpose string
	var batch int
	cmd := &cobra.Command{
		Use:   "rotate-data-keys [--purpose PURPOSE]",
		Short: "Make new data keys and re-encrypt every encrypted value with them",
		Long: `rotate-data-keys makes the next data key of each purpose (field, private-key),
or of --purpose only, and re-encrypts every value sealed with an older key, in
batches of --batch-size rows, each batch in its own transaction. Running
servers go on working and write new values with the new key at once. If the
command stops half-way, every value stays readable; run it again and it
finishes with the same key. At the end the older keys are marked retired: no
value refers to them any more, but they are kept so that backups remain
readable ("key data-keys" shows their state). Restart every server with the
current master key file before rotating data keys after rotate-master.`,
		Example: "  zhengzhao key rotate-data-keys --purpose field",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if batch < 1 || batch > 10000 {
				return usageErr("--batch-size must be 1 to 10000")
			}
			opts := store.RotateDataKeysOptions{BatchSize: batch, Now: time.Now, Rand: rand.Reader, Progress: a.dataKeyProgress()}
			if purpose != "" {
				opts.Purposes = []string{purpose}
			}
			db, _, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer a.closeStore(db)
			res, err := db.RotateDataKeys(ctx, opts)
			if err != nil {
				if len(res) > 0 {
					fmt.Fprintln(a.stderr, a.t("cli.data-key.interrupted", nil))
				}
				return err
			}
			return a.printRotations(res)
		},
	}
	cmd.Flags().StringVar(&purpose, "purpose", "", "only this purpose: field or private-key (default: every purpose)")
	cmd.Flags().IntVar(&batch, "batch-size", store.DefaultRotationBatch, "rows re-encrypted per transaction (1 to 10000)")
	return cmd
}

// dataKeyProgress reports a data key rotation on stderr: one count line
// per batch, at most one a second, enough to see that a long rotation
// moves without flooding a log.
func (a *app) dataKeyProgress() func(store.DataKeyProgress) {
	var shown time.Time
	return func(p store.DataKeyProgress) {
		if now := time.Now(); now.Sub(shown) >= time.Second {
			shown = now
			fmt.Fprintln(a.stderr, a.t("cli.data-key.progress", map[string]any{"Purpose": p.Purpose, "Version": p.Version,
				"Table": p.Table, "Column": p.Column, "Pass": p.Pass, "Scanned": p.Scanned, "Reencrypted": p.Reencrypted}))
		}
	}
}

// dataKeyRotationOf renders what rotating one purpose did for --json.
func dataKeyRotationOf(r store.DataKeyRotation) api.DataKeyRotation {
	retired := r.Retired
	if retired == nil {
		retired = []int64{}
	}
	return api.DataKeyRotation{Purpose: r.Purpose, Version: r.Version, Suite: r.Suite, Resumed: r.Resumed,
		Scanned: r.Scanned, Reencrypted: r.Reencrypted, Retired: retired, Done: r.Done}
}

// printRotations prints the outcome of rotate-data-keys, one purpose a line.
func (a *app) printRotations(res []store.DataKeyRotation) error {
	out := make([]api.DataKeyRotation, len(res))
	for i, r := range res {
		out[i] = dataKeyRotationOf(r)
	}
	return a.print(map[string]any{"purposes": out}, func(w io.Writer) error {
		for _, r := range res {
			retired := a.t("cli.data-key.none", nil)
			if len(r.Retired) > 0 {
				vs := make([]string, len(r.Retired))
				for i, v := range r.Retired {
					vs[i] = fmt.Sprintf("v%d", v)
				}
				retired = strings.Join(vs, ", ")
			}
			id := "cli.data-key.rotated"
			if r.Resumed {
				id = "cli.data-key.resumed"
			}
			fmt.Fprintln(w, a.t(id, map[string]any{"Purpose": r.Purpose, "Version": r.Version, "Suite": r.Suite,
				"Scanned": r.Scanned, "Reencrypted": r.Reencrypted, "Retired": retired}))
		}
		return nil
	})
}

// dataKeysCommand is `key data-keys`.
func (a *app) dataKeysCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "data-keys",
		Short: "List the data keys: purpose, version, cipher, state (active or retired)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, _, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			ks, err := db.DataKeys(cmd.Context())
			if err != nil {
				return err
			}
			return printItems(a, httpapi.ListOf(ks, dataKeyOf), ks, func(k store.DataKey) string {
				line := fmt.Sprintf("%-12s v%-3d %-12s %-8s %s  %s", k.Purpose, k.Version, k.Suite, k.State, k.MasterKeyID, k.CreatedAt.Format(time.RFC3339))
				if k.RetiredAt != nil {
					line += " " + k.RetiredAt.Format(time.RFC3339)
				}
				return line
			})
		},
	}
}

// dataKeyOf renders a data key for --json.
func dataKeyOf(k store.DataKey) api.DataKey {
	return api.DataKey{Purpose: k.Purpose, Version: k.Version, Suite: k.Suite, State: k.State,
		MasterKeyID: k.MasterKeyID, CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt}
}

// writePublic writes data to path, or to stdout when path is empty. What it
// writes is public by design (signatures, CRLs, trust bundles), so the
// file is readable by all.
func (a *app) writePublic(path string, data []byte) error {
	if path == "" {
		_, err := a.stdout.Write(data)
		return err
	}
	return os.WriteFile(path, data, 0o644) //nolint:gosec // G306: signatures, CRLs and trust bundles go to whoever verifies
}
