package cli

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
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

// keyJSON is a key record as --json prints it.
type keyJSON struct {
	ID         string     `json:"id"`
	Org        string     `json:"org"`
	Name       string     `json:"name"`
	Version    int        `json:"version"`
	Purpose    string     `json:"purpose"`
	Algorithm  string     `json:"algorithm"`
	Backend    string     `json:"backend"`
	State      string     `json:"state"`
	CreatedAt  time.Time  `json:"created_at"`
	RotatedAt  *time.Time `json:"rotated_at,omitempty"`
	ReplacedBy string     `json:"replaced_by,omitempty"`
}

func keyOut(k keyring.Key) keyJSON {
	return keyJSON{ID: k.ID, Org: k.Org, Name: k.Name, Version: k.Version, Purpose: string(k.Purpose), Algorithm: string(k.Algorithm),
		Backend: string(k.Backend), State: string(k.State), CreatedAt: k.CreatedAt, RotatedAt: k.RotatedAt, ReplacedBy: k.ReplacedBy}
}

// platform opens the store and the PKCS#11 token (when configured) and
// builds the object graph over them; done closes both.
func (a *app) platform(ctx context.Context) (p *platform.Platform, done func(), err error) {
	p, _, done, err = a.openPlatform(ctx)
	return p, done, err
}

// openPlatform is platform that also says how many migrations opening the
// store applied.
func (a *app) openPlatform(ctx context.Context) (p *platform.Platform, migrated int, done func(), err error) {
	db, migrated, err := a.open(ctx)
	if err != nil {
		return nil, 0, nil, err
	}
	hsm, closeHSM, err := a.openHSM()
	if err != nil {
		db.Close()
		return nil, 0, nil, err
	}
	done = func() { closeHSM(); a.closeStore(db) }
	if p, err = platform.New(db, a.options(hsm)); err != nil {
		done()
		return nil, 0, nil, err
	}
	return p, migrated, done, nil
}

// options are the platform options of the configuration: the token, and the
// seal policies (which Validate has checked).
func (a *app) options(hsm keyring.HSM) platform.Options {
	return platform.Options{HSM: hsm, Seal: a.cfg.Seal()}
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
	var orgCode string
	cmd.PersistentFlags().StringVar(&orgCode, "org", "", "organization owning the key (default: the platform organization)")
	resolve := func(ctx context.Context, p *platform.Platform, ref string) (keyring.Key, error) {
		return a.resolveKey(ctx, p, orgCode, ref)
	}
	printKey := func(k keyring.Key) error {
		if a.json {
			return a.printJSON(keyOut(k))
		}
		fmt.Fprintln(a.stdout, k.ID)
		return nil
	}

	var n keyring.NewKey
	var alg, purpose, backend string
	create := &cobra.Command{
		Use:     "create --name NAME --purpose PURPOSE",
		Short:   "Create a key pair; print its ID",
		Example: "  zhengzhao key create --name seal-main --purpose seal --alg SM2-SM3",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withPlatform(ctx, func(p *platform.Platform) error {
				org, err := orgOrPlatform(ctx, p.Orgs, orgCode)
				if err != nil {
					return err
				}
				n.Org = org
				n.Purpose, n.Algorithm, n.Backend = keyring.Purpose(purpose), keys.Algorithm(alg), keyring.Backend(backend)
				k, err := p.Keys.Create(ctx, n)
				if err != nil {
					return err
				}
				return printKey(k)
			})
		},
	}
	create.Flags().StringVar(&n.Name, "name", "", "key name, unique in the organization (a-z 0-9 . _ -)")
	create.Flags().StringVar(&purpose, "purpose", "", "seal, license-signing, presentation, checkpoint or ca")
	create.Flags().StringVar(&alg, "alg", string(keys.DefaultAlgorithm), "SM2-SM3, ECDSA-P256-SHA256 or Ed25519")
	create.Flags().StringVar(&backend, "backend", string(keyring.Software), "software (encrypted under the master key) or pkcs11")

	var f keyring.Filter
	var fPurpose, fState string
	list := &cobra.Command{
		Use:   "list",
		Short: "List keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				f.Org, f.Purpose, f.State = orgCode, keyring.Purpose(fPurpose), keyring.State(fState)
				if f.Limit == 0 {
					f.Limit = 500
				}
				ks, err := p.Keys.List(cmd.Context(), f)
				if err != nil {
					return err
				}
				if a.json {
					items := make([]keyJSON, len(ks))
					for i, k := range ks {
						items[i] = keyOut(k)
					}
					return a.printJSON(map[string]any{"items": items})
				}
				for _, k := range ks {
					fmt.Fprintf(a.stdout, "%s  %s  %-16s v%-3d %-16s %-18s %-8s %s\n", k.ID, k.Org, k.Name, k.Version, k.Purpose, k.Algorithm, k.Backend, k.State)
				}
				return nil
			})
		},
	}
	list.Flags().StringVar(&fPurpose, "purpose", "", "only this purpose")
	list.Flags().StringVar(&fState, "state", "", "only active, disabled or retired keys")
	list.Flags().IntVar(&f.Limit, "limit", 0, "at most this many (default 500)")

	change := func(use, short string, do func(*keyring.Service, context.Context, string) (keyring.Key, error)) *cobra.Command {
		return &cobra.Command{
			Use: use + " KEY", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx := cmd.Context()
				return a.withPlatform(ctx, func(p *platform.Platform) error {
					k, err := resolve(ctx, p, args[0])
					if err != nil {
						return err
					}
					if k, err = do(p.Keys, ctx, k.ID); err != nil {
						return err
					}
					return printKey(k)
				})
			},
		}
	}

	var format string
	export := &cobra.Command{
		Use:   "export-public KEY",
		Short: "Print a key's public key as PEM (SubjectPublicKeyInfo) or JWK",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withPlatform(ctx, func(p *platform.Platform) error {
				k, err := resolve(ctx, p, args[0])
				if err != nil {
					return err
				}
				switch format {
				case "pem":
					_, err = a.stdout.Write(k.PublicPEM)
					return err
				case "jwk":
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
				}
				return usageErr("--format is pem or jwk")
			})
		},
	}
	export.Flags().StringVar(&format, "format", "pem", "pem or jwk")

	var out string
	sign := &cobra.Command{
		Use:   "sign KEY FILE",
		Short: "Sign a file; write a detached signature (JSON) to stdout or --out",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			msg, err := readInput(args[1])
			if err != nil {
				return err
			}
			return a.withPlatform(ctx, func(p *platform.Platform) error {
				k, err := resolve(ctx, p, args[0])
				if err != nil {
					return err
				}
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
	sign.Flags().StringVar(&out, "out", "", "write the signature to this file")

	var publicPEM string
	verify := &cobra.Command{
		Use:   "verify FILE SIGNATURE",
		Short: "Verify a detached signature (exit 0 valid, 1 invalid, 2 usage)",
		Long: `verify checks a signature made by key sign. With --public it works offline
from the public key alone; without, it looks the key up in the store (any
state: retired and disabled keys still verify what they signed).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			msg, err := readInput(args[0])
			if err != nil {
				return err
			}
			raw, err := readInput(args[1])
			if err != nil {
				return err
			}
			var sf signatureFile
			if err := json.Unmarshal(raw, &sf); err != nil || sf.Format != SignatureFormat || len(sf.Signature) == 0 {
				return usageErr("%s is not a %s file", args[1], SignatureFormat)
			}
			alg, err := keys.ParseAlgorithm(sf.Algorithm)
			if err != nil {
				return usageErr("%s: %v", args[1], err)
			}
			var verr error
			if publicPEM != "" {
				pemBytes, err := readInput(publicPEM)
				if err != nil {
					return err
				}
				pub, _, err := keys.ParsePublicPEM(pemBytes)
				if err != nil {
					return usageErr("%s: %v", publicPEM, err)
				}
				verr = keys.Verify(alg, pub, msg, sf.Signature)
			} else {
				p, done, err := a.platform(ctx)
				if err != nil {
					return err
				}
				defer done()
				k, err := p.Keys.Get(ctx, sf.KeyID)
				if err != nil {
					return err
				}
				if k.Algorithm != alg {
					verr = fmt.Errorf("signature says %s, key %s is %s", alg, k.ID, k.Algorithm)
				} else {
					_, verr = p.Keys.Verify(ctx, k.ID, msg, sf.Signature)
				}
			}
			return a.verdict(sf.KeyID, verr)
		},
	}
	verify.Flags().StringVar(&publicPEM, "public", "", "verify offline with this PEM public key")

	var nextFile string
	rotateMaster := &cobra.Command{
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
			current, err := envelope.LoadMasterKeyFile(a.cfg.MasterKeyPath())
			if err != nil {
				return err
			}
			if err := envelope.GenerateMasterKeyFile(nextFile, rand.Reader); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			next, err := envelope.LoadMasterKeyFile(nextFile)
			if err != nil {
				return err
			}
			if next.Equal(current) {
				return usageErr("the new master key is the current one")
			}
			return a.withPlatform(ctx, func(p *platform.Platform) error {
				n, err := p.DB.RotateMaster(ctx, current, next)
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(map[string]any{"rewrapped": n, "master_key_id": next.ID(), "master_key_file": nextFile})
				}
				fmt.Fprintln(a.stdout, a.t("cli.master-key.rotated", map[string]any{"N": n, "ID": next.ID(), "File": nextFile, "Old": a.cfg.MasterKeyPath()}))
				return nil
			})
		},
	}
	rotateMaster.Flags().StringVar(&nextFile, "new-master-key-file", "", "the new master key file (created when missing)")

	cmd.AddCommand(a.rotateDataKeysCommand(), a.dataKeysCommand())
	cmd.AddCommand(create, list,
		change("rotate", "Make the next version of a key and retire this one; print the new ID", (*keyring.Service).Rotate),
		change("disable", "Stop a key from signing", (*keyring.Service).Disable),
		change("enable", "Let a disabled key sign again", (*keyring.Service).Enable),
		export, sign, verify, rotateMaster)
	return cmd
}

// verdict reports the outcome of a verification command: exit 0 when valid,
// 1 when not.
func (a *app) verdict(subject string, verr error) error {
	if a.json {
		out := map[string]any{"subject": subject, "valid": verr == nil}
		if verr != nil {
			out["reason"] = reasonOf(verr)
		}
		if err := a.printJSON(out); err != nil {
			return err
		}
	} else if verr == nil {
		fmt.Fprintf(a.stdout, "%s: %s\n", subject, a.t("cli.valid", nil))
	} else {
		fmt.Fprintf(a.stdout, "%s: %s — %s\n", subject, a.t("cli.invalid", nil), reasonOf(verr))
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

// dataKeyRotationJSON is one purpose of `key rotate-data-keys --json`.
type dataKeyRotationJSON struct {
	Purpose     string  `json:"purpose"`
	Version     int64   `json:"version"`
	Suite       string  `json:"suite"`
	Resumed     bool    `json:"resumed"`
	Scanned     int64   `json:"scanned"`
	Reencrypted int64   `json:"reencrypted"`
	Retired     []int64 `json:"retired"`
	Done        bool    `json:"done"`
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
			opts := store.RotateDataKeysOptions{BatchSize: batch, Now: time.Now, Rand: rand.Reader}
			if purpose != "" {
				opts.Purposes = []string{purpose}
			}
			// One count line per batch, at most one a second: enough to see
			// that a long rotation moves, without flooding a log.
			var shown time.Time
			opts.Progress = func(p store.DataKeyProgress) {
				if now := time.Now(); now.Sub(shown) >= time.Second {
					shown = now
					fmt.Fprintln(a.stderr, a.t("cli.data-key.progress", map[string]any{"Purpose": p.Purpose, "Version": p.Version,
						"Table": p.Table, "Column": p.Column, "Pass": p.Pass, "Scanned": p.Scanned, "Reencrypted": p.Reencrypted}))
				}
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
			if a.json {
				out := make([]dataKeyRotationJSON, len(res))
				for i, r := range res {
					retired := r.Retired
					if retired == nil {
						retired = []int64{}
					}
					out[i] = dataKeyRotationJSON{Purpose: r.Purpose, Version: r.Version, Suite: r.Suite, Resumed: r.Resumed,
						Scanned: r.Scanned, Reencrypted: r.Reencrypted, Retired: retired, Done: r.Done}
				}
				return a.printJSON(map[string]any{"purposes": out})
			}
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
				fmt.Fprintln(a.stdout, a.t(id, map[string]any{"Purpose": r.Purpose, "Version": r.Version, "Suite": r.Suite,
					"Scanned": r.Scanned, "Reencrypted": r.Reencrypted, "Retired": retired}))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&purpose, "purpose", "", "only this purpose: field or private-key (default: every purpose)")
	cmd.Flags().IntVar(&batch, "batch-size", store.DefaultRotationBatch, "rows re-encrypted per transaction (1 to 10000)")
	return cmd
}

// dataKeyJSON is a data key as `key data-keys --json` prints it.
type dataKeyJSON struct {
	Purpose     string     `json:"purpose"`
	Version     int64      `json:"version"`
	Suite       string     `json:"suite"`
	State       string     `json:"state"`
	MasterKeyID string     `json:"master_key_id"`
	CreatedAt   time.Time  `json:"created_at"`
	RetiredAt   *time.Time `json:"retired_at,omitempty"`
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
			if a.json {
				items := make([]dataKeyJSON, len(ks))
				for i, k := range ks {
					items[i] = dataKeyJSON{Purpose: k.Purpose, Version: k.Version, Suite: k.Suite, State: k.State,
						MasterKeyID: k.MasterKeyID, CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt}
				}
				return a.printJSON(map[string]any{"items": items})
			}
			for _, k := range ks {
				line := fmt.Sprintf("%-12s v%-3d %-12s %-8s %s  %s", k.Purpose, k.Version, k.Suite, k.State, k.MasterKeyID, k.CreatedAt.Format(time.RFC3339))
				if k.RetiredAt != nil {
					line += " " + k.RetiredAt.Format(time.RFC3339)
				}
				fmt.Fprintln(a.stdout, line)
			}
			return nil
		},
	}
}

// withPlatform runs fn on the opened platform and closes it afterwards.
func (a *app) withPlatform(ctx context.Context, fn func(p *platform.Platform) error) error {
	p, done, err := a.platform(ctx)
	if err != nil {
		return err
	}
	defer done()
	return fn(p)
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
