package cli

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/platform"
)

// The catalog commands work directly on the store as the platform operator
// on the host (the audit log names them "operator"). The operator reviews
// versions that accounts proposed through the API; a version the operator
// proposed here is reviewed by a platform admin through the API, since
// nobody reviews their own version.

func (a *app) catalogCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "The license catalog: license types, their template versions and their review",
		Long: `catalog manages the license types (证照目录) directly in the store: define a
type, propose a version of its face template, approve or reject it. A type is
used for issuance only under an approved version. The same operations are in
the API under /api/v1/catalog (docs/catalog.md).`,
	}
	cmd.AddCommand(a.catalogTypesCommand(), a.catalogTypeCommand(), a.catalogDefineCommand(), a.catalogProposeCommand(),
		a.catalogApproveCommand(), a.catalogRejectCommand(), a.catalogVersionsCommand())
	return cmd
}

// typeLine is the one-line form of a license type.
func (a *app) typeLine(e catalog.Entry) string {
	issuers := strings.Join(e.Issuers, ",")
	if e.AnyIssuer {
		issuers = "*"
	}
	return a.t("cli.catalog.type", map[string]any{"Code": e.Code, "Name": a.label(e.Name), "Level": e.Level,
		"Issuers": issuers, "Approved": e.Approved})
}

// versionLine is the one-line form of a version.
func (a *app) versionLine(v catalog.Version) string {
	return a.t("cli.catalog.version", map[string]any{"Code": v.TypeCode, "N": v.Number, "State": v.State,
		"Author": v.Author, "Fields": len(v.Template.Fields)})
}

// label is a label in the user's language.
func (a *app) label(l catalog.Label) string {
	if a.cfg.Language() == i18n.ZH {
		return l.ZH
	}
	return l.EN
}

// readJSONFile decodes a JSON file strictly: an unknown key is a mistake.
func readJSONFile(path string, v any) error {
	b, err := readInput(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return usageErr("%s: %v", path, err)
	}
	return nil
}

// versionArgs reads the CODE N arguments of a version.
func versionArgs(args []string) (string, int, error) {
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 1 {
		return "", 0, usageErr("version %q is not a number from 1", args[1])
	}
	return args[0], n, nil
}

func (a *app) catalogTypesCommand() *cobra.Command {
	var f catalog.TypeFilter
	var level, holder, cursor string
	cmd := &cobra.Command{
		Use:   "types",
		Short: "List the license types",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				f.Level, f.HolderKind = catalog.Level(level), catalog.HolderKind(holder)
				pg, err := p.Catalog.ListTypes(cmd.Context(), f, cursor)
				if err != nil {
					return err
				}
				return printItems(a, httpapi.PageOf(pg, httpapi.LicenseTypeOf), pg.Items, a.typeLine)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Issuer, "issuer", "", "only the types this organization (credit code) may issue")
	fl.StringVar(&f.Owner, "owner", "", "only the types this organization (credit code) defined")
	fl.StringVar(&level, "level", "", "national, provincial, municipal or county")
	fl.StringVar(&holder, "holder-kind", "", "person or organization")
	fl.BoolVar(&f.Usable, "usable", false, "only the types with an approved version")
	fl.IntVar(&f.Limit, "limit", 0, "page size (default 50)")
	fl.StringVar(&cursor, "cursor", "", "the cursor of the next page")
	return cmd
}

func (a *app) catalogTypeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "type CODE",
		Short: "Show one license type",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				e, err := p.Catalog.GetType(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return a.printLine(httpapi.LicenseTypeOf(e), a.typeLine(e))
			})
		},
	}
}

func (a *app) catalogDefineCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "define --file TYPE.json",
		Short: "Define a license type (the body of POST /api/v1/catalog/types)",
		Example: `  zhengzhao catalog define --file type.json
  zhengzhao catalog propose TP0001 --file template.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var n api.NewLicenseType
			if err := readJSONFile(file, &n); err != nil {
				return err
			}
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				e, err := p.Catalog.DefineType(cmd.Context(), nil, httpapi.LicenseTypeIn(n))
				if err != nil {
					return err
				}
				return a.printLine(httpapi.LicenseTypeOf(e), a.t("cli.catalog.defined", map[string]any{"Code": e.Code, "Name": a.label(e.Name)}))
			})
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "the type, JSON")
	return cmd
}

func (a *app) catalogProposeCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "propose CODE --file TEMPLATE.json",
		Short: "Propose the next version of a type's face template for review",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var t api.Template
			if err := readJSONFile(file, &t); err != nil {
				return err
			}
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				v, err := p.Catalog.ProposeVersion(cmd.Context(), nil, args[0], httpapi.TemplateIn(t))
				if err != nil {
					return err
				}
				return a.printLine(httpapi.LicenseTypeVersionOf(v), a.t("cli.catalog.proposed", map[string]any{"Code": v.TypeCode, "N": v.Number}))
			})
		},
	}
	cmd.Flags().StringVar(&file, "file", "", `the template, JSON: {"fields": [...]}`)
	return cmd
}

// catalogReviewCommand is approve or reject: decide runs the review.
func (a *app) catalogReviewCommand(use, short, msgID string, decide func(s *catalog.Service, cmd *cobra.Command, code string, n int, reason string) (catalog.Version, error)) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   use + " CODE N",
		Short: short,
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			code, n, err := versionArgs(args)
			if err != nil {
				return err
			}
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				v, err := decide(p.Catalog, cmd, code, n, reason)
				if err != nil {
					return err
				}
				return a.printLine(httpapi.LicenseTypeVersionOf(v), a.t(msgID, map[string]any{"Code": v.TypeCode, "N": v.Number}))
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required to reject)")
	return cmd
}

func (a *app) catalogApproveCommand() *cobra.Command {
	return a.catalogReviewCommand("approve", "Approve a pending version: licenses are issued under it from now on", "cli.catalog.approved",
		func(s *catalog.Service, cmd *cobra.Command, code string, n int, reason string) (catalog.Version, error) {
			return s.Approve(cmd.Context(), nil, code, n, reason)
		})
}

func (a *app) catalogRejectCommand() *cobra.Command {
	return a.catalogReviewCommand("reject", "Reject a pending version, with a reason", "cli.catalog.rejected",
		func(s *catalog.Service, cmd *cobra.Command, code string, n int, reason string) (catalog.Version, error) {
			return s.Reject(cmd.Context(), nil, code, n, reason)
		})
}

func (a *app) catalogVersionsCommand() *cobra.Command {
	var f catalog.VersionFilter
	var state, cursor string
	cmd := &cobra.Command{
		Use:   "versions CODE",
		Short: "List the versions of a license type, oldest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				f.TypeCode, f.State = args[0], catalog.State(state)
				pg, err := p.Catalog.ListVersions(cmd.Context(), f, cursor)
				if err != nil {
					return err
				}
				return printItems(a, httpapi.PageOf(pg, httpapi.LicenseTypeVersionOf), pg.Items, a.versionLine)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&state, "state", "", "draft, pending, approved or rejected")
	fl.IntVar(&f.Limit, "limit", 0, "page size (default 50)")
	fl.StringVar(&cursor, "cursor", "", "the cursor of the next page")
	return cmd
}
