package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/platform"
)

// The license commands work directly on the store, for operators and
// scripts on the platform host. Issuing needs an issuer: a license names
// the account that issued it, and the audit log the account that acted.
// So the commands act as an existing account of the issuing organization
// with the issuer role: --account (default svc-issuer, the service account
// that `zhengzhao token create --role issuer --org USCC` makes). They do
// not make it: a refused issuance, or a read, writes nothing. The service
// then checks what it checks for an API caller with that account's token:
// nothing is bypassed.

// defaultIssuerAccount is the account license commands act as by default.
const defaultIssuerAccount = "svc-issuer"

// chinaTime is the zone of a bare date given for a validity bound.
var chinaTime = time.FixedZone("CST", 8*3600)

func (a *app) licenseCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "license",
		Short: "Electronic licenses: issue, show, list, change the state of, verify and export them; export the trust bundle",
		Long: `license issues licenses and reads them directly in the store (operators on the
host), as an issuer account of the issuing organization: --account, default
svc-issuer, which "zhengzhao token create --role issuer --org USCC" makes. The
same operations are in the API under /api/v1/licenses (docs/licenses.md),
where an issuer's token names the account. verify checks a signed license
document, online or offline from a trust bundle.`,
	}
	cmd.AddCommand(a.licenseIssueCommand(), a.licenseGetCommand(), a.licenseListCommand(), a.licenseTransitionCommand(),
		a.licenseVerifyCommand(), a.licenseTrustBundleCommand(), a.licenseExportCommand(), a.licenseTransferCommand(), a.licensePresentCommand(),
		a.licensePrintCommand())
	return cmd
}

// issuerActor is the actor the license commands act as: the account
// named account of the organization issuer, active, of an active
// organization, with the issuer role.
func (a *app) issuerActor(ctx context.Context, p *platform.Platform, issuer, account string) (*authz.Actor, error) {
	issuer = ids.NormalizeCreditCode(issuer)
	o, err := p.Orgs.GetOrg(ctx, issuer)
	if err != nil {
		return nil, err
	}
	acc, err := p.DB.FindAccount(ctx, o.CreditCode, strings.TrimSpace(account))
	if errors.Is(err, apperr.NotFound) {
		return nil, a.msgErr(ExitInvalid, "cli.license.no-account", map[string]any{"Org": o.CreditCode, "Account": account})
	}
	if err != nil {
		return nil, err
	}
	if acc.Status != org.Active || o.Status != org.Active || !slices.Contains(acc.Roles, authz.Issuer) {
		return nil, a.msgErr(ExitInvalid, "cli.license.not-issuer", map[string]any{"Org": o.CreditCode, "Account": acc.Name})
	}
	return &authz.Actor{AccountID: acc.ID, AccountName: acc.Name, Org: acc.Org, Roles: acc.Roles}, nil
}

// asIssuer runs fn on the platform as the issuer account the license
// commands act as (issuerActor).
func (a *app) asIssuer(ctx context.Context, issuer, account string, fn func(*platform.Platform, *authz.Actor) error) error {
	return a.withPlatform(ctx, func(p *platform.Platform) error {
		actor, err := a.issuerActor(ctx, p, issuer, account)
		if err != nil {
			return err
		}
		return fn(p, actor)
	})
}

// licenseIssuer is the organization a license command acts for: --issuer
// when given (a license transferred to another issuer keeps its
// identifier, R-ISS-5), else the issuer the identifier id names. A
// malformed identifier is refused naming its rule.
func licenseIssuer(id, issuer string) (string, error) {
	parsed, err := ids.ParseLicenseID(id)
	var ie *ids.Error
	if errors.As(err, &ie) {
		return "", &apperr.Error{Kind: apperr.Invalid, Detail: "not a license identifier",
			Fields: []apperr.FieldError{{Field: "id", Rule: ie.Rule, Detail: ie.Detail}}}
	}
	if err != nil {
		return "", err
	}
	if issuer != "" {
		return issuer, nil
	}
	return parsed.Issuer, nil
}

// licenseFlags are the flags every license command has.
func licenseFlags(cmd *cobra.Command, account *string) {
	cmd.Flags().StringVar(account, "account", defaultIssuerAccount, "the issuer account of the organization to act as (make one with: zhengzhao token create --role issuer --org USCC)")
}

// licenseLine is the one-line form of a license.
func (a *app) licenseLine(l license.License) string {
	return a.t("cli.license.line", map[string]any{"ID": l.ID, "Number": l.Number, "Type": l.TypeCode, "State": l.State,
		"Holder": l.HolderName, "IssuedAt": l.IssuedAt.Format(time.RFC3339)})
}

// timeFlag is a validity bound: RFC 3339, or a date meaning its midnight
// in China (UTC+8).
type timeFlag struct{ t *time.Time }

func (f *timeFlag) String() string {
	if f.t == nil {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f *timeFlag) Set(s string) error {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t, err = time.ParseInLocation(time.DateOnly, s, chinaTime)
	}
	if err != nil {
		return errors.New("neither RFC 3339 (2026-12-01T00:00:00+08:00) nor a date (2026-12-01)")
	}
	f.t = &t
	return nil
}

func (f *timeFlag) Type() string { return "time" }

// faceArg reads --face: a JSON object, or @FILE holding one.
func (a *app) faceArg(v string) (json.RawMessage, error) {
	b := []byte(v)
	if path, ok := strings.CutPrefix(v, "@"); ok {
		var err error
		if b, err = readInput(path); err != nil {
			return nil, err
		}
	}
	if !json.Valid(b) {
		return nil, a.msgErr(ExitUsage, "cli.license.bad-face", nil)
	}
	return b, nil
}

// materialArgs reads the --material files: each is named by its base
// name, and its media type is what its bytes are (the service refuses a
// file of no allowed type).
func materialArgs(paths []string) ([]license.Material, error) {
	out := make([]license.Material, 0, len(paths))
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, usageErr("read %s: %v", p, errors.Unwrap(err))
		}
		if st.Size() > license.MaxMaterialSize {
			return nil, usageErr("%s: %d bytes; a material is at most %d MiB", p, st.Size(), license.MaxMaterialSize>>20)
		}
		b, err := readInput(p)
		if err != nil {
			return nil, err
		}
		out = append(out, license.Material{Name: filepath.Base(p), MediaType: license.SniffMediaType(b), Content: b})
	}
	return out, nil
}

func (a *app) licenseIssueCommand() *cobra.Command {
	var issuer, account, face string
	var n license.NewLicense
	var materials []string
	from, until := &timeFlag{}, &timeFlag{}
	cmd := &cobra.Command{
		Use:   "issue --issuer USCC --type CODE --holder-id ID --holder-name NAME --face JSON|@FILE",
		Short: "Issue a license, signed by the organization's bound license-issuing seal",
		Long: `issue issues a license of a type the organization issues, under an approved
template version (the newest unless --type-version), as POST /api/v1/licenses
does: the face data is checked against the template, the holder's identifier
by its check characters, the validity by the type's rule; every broken rule is
printed and nothing is stored. The organization's license-issuing seal bound
to license issuance signs it.

--valid-from and --valid-until take RFC 3339 or a date (its midnight in China,
UTC+8). Each --material file is archived with the license in the same
transaction: PDF, OFD, PNG, JPEG, XML or JSON (known by its bytes), at most
20 files, 10 MiB each, 20 MiB together.

The license names its status lists below the platform's public URL, the one
serve --public-url stored.`,
		Example: `  zhengzhao license issue --issuer 11350100MB0000027N --type PC0001 \
    --holder-id 11010519491231002X --holder-name 王建国 --face @face.json \
    --material 申请表.pdf --material 照片.png
  zhengzhao license issue --issuer 11350100MB0000027N --type TP0001 --type-version 2 \
    --holder-id 91350100M000100Y43 --holder-name 示例企业 --face '{"name": "示例企业"}' \
    --valid-until 2031-12-31 --account 张三 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n.ValidFrom, n.ValidUntil = from.t, until.t
			var err error
			if n.Face, err = a.faceArg(face); err != nil {
				return err
			}
			if n.Materials, err = materialArgs(materials); err != nil {
				return err
			}
			return a.asIssuer(cmd.Context(), issuer, account, func(p *platform.Platform, actor *authz.Actor) error {
				out, err := p.Licenses.Issue(cmd.Context(), actor, n)
				if err != nil {
					return err
				}
				l := out.License
				return a.printLine(httpapi.IssuedLicenseOf(out), a.t("cli.license.issued", map[string]any{"ID": l.ID, "Number": l.Number,
					"Type": l.TypeCode, "TypeVersion": l.TypeVersion, "Holder": l.HolderName, "Materials": len(out.Materials)}))
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&issuer, "issuer", "", "credit code of the issuing organization (required)")
	f.StringVar(&n.Type, "type", "", "license type code (required)")
	f.IntVar(&n.TypeVersion, "type-version", 0, "approved template version (default: the newest approved)")
	f.StringVar(&n.HolderID, "holder-id", "", "the holder's citizen ID number or credit code (required)")
	f.StringVar(&n.HolderName, "holder-name", "", "the holder's name (required)")
	f.StringVar(&face, "face", "", "face data: a JSON object of the template's fields, or @FILE (required)")
	f.Var(from, "valid-from", "start of validity (default: the time of issue)")
	f.Var(until, "valid-until", "end of validity, for a type whose end the issuer sets")
	f.StringArrayVar(&materials, "material", nil, "issuance material file to archive with the license, repeatable")
	licenseFlags(cmd, &account)
	for _, name := range []string{"issuer", "type", "holder-id", "holder-name", "face"} {
		if err := cmd.MarkFlagRequired(name); err != nil {
			panic(err) // only if a flag defined above was renamed: a programming error
		}
	}
	return cmd
}

func (a *app) licenseGetCommand() *cobra.Command {
	var account, issuer string
	cmd := &cobra.Command{
		Use:   "get ID [--issuer USCC]",
		Short: "Show one license (of --issuer, by default the organization its identifier names)",
		Example: `  zhengzhao license get PC000111350100MB0000027N00000000017
  zhengzhao license get PC000111350100MB0000027N00000000017 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			issuer, err := licenseIssuer(args[0], issuer)
			if err != nil {
				return err
			}
			return a.asIssuer(cmd.Context(), issuer, account, func(p *platform.Platform, actor *authz.Actor) error {
				l, err := p.Licenses.Get(cmd.Context(), actor, args[0])
				if err != nil {
					return err
				}
				return a.print(httpapi.LicenseOf(l), func(w io.Writer) error { return printLicense(w, l) })
			})
		},
	}
	licenseFlags(cmd, &account)
	cmd.Flags().StringVar(&issuer, "issuer", "", "the organization that issues the license now; default the one its identifier names (a transferred license keeps its identifier)")
	return cmd
}

// printLicense prints a license as label and value lines.
func printLicense(w io.Writer, l license.License) error {
	until := "-"
	if l.ValidUntil != nil {
		until = l.ValidUntil.Format(time.RFC3339)
	}
	_, err := fmt.Fprintf(w, "id            %s\nnumber        %s\ntype          %s v%d\nissuer        %s\nholder        %s %s (%s)\n"+
		"valid         %s .. %s\nstate         %s\nversion       %d\nstatus        list %d index %d\nseal          %s\nissued        %s by %s\n",
		l.ID, l.Number, l.TypeCode, l.TypeVersion, l.Issuer, l.HolderName, l.HolderID, l.HolderKind,
		l.ValidFrom.Format(time.RFC3339), until, l.State, l.Version, l.Slot.List.Number, l.Slot.Index, l.SealID,
		l.IssuedAt.Format(time.RFC3339), l.IssuedBy)
	return err
}

func (a *app) licenseListCommand() *cobra.Command {
	var issuer, account, state, cursor string
	var f license.Filter
	cmd := &cobra.Command{
		Use:   "list --issuer USCC",
		Short: "List an organization's licenses, by identifier (paginated)",
		Example: `  zhengzhao license list --issuer 11350100MB0000027N --type PC0001 --limit 20
  zhengzhao license list --issuer 11350100MB0000027N --holder 11010519491231002X --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.asIssuer(cmd.Context(), issuer, account, func(p *platform.Platform, actor *authz.Actor) error {
				f.State = license.State(state)
				pg, err := p.Licenses.List(cmd.Context(), actor, f, cursor)
				if err != nil {
					return err
				}
				return printItems(a, httpapi.PageOf(pg, httpapi.LicenseOf), pg.Items, a.licenseLine)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&issuer, "issuer", "", "credit code of the issuing organization (required)")
	fl.StringVar(&f.TypeCode, "type", "", "only this license type")
	fl.StringVar(&state, "state", "", "only this state")
	fl.StringVar(&f.Holder, "holder", "", "only this holder's citizen ID number or credit code")
	fl.IntVar(&f.Limit, "limit", 0, "page size (default 50, at most 500)")
	fl.StringVar(&cursor, "cursor", "", "cursor printed at the end of the previous page")
	licenseFlags(cmd, &account)
	if err := cmd.MarkFlagRequired("issuer"); err != nil {
		panic(err) // only if the flag defined above was renamed: a programming error
	}
	return cmd
}
