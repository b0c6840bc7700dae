package cli

import (
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// The use commands work directly on the store as the platform operator on
// the host (the audit log names them "operator"): they list and change a
// unit's matters on its behalf, review the versions units wrote through
// the API, and grant and withdraw license types. Nobody reviews their own
// version: a matter the operator wrote is reviewed by a platform admin
// through the API.

func (a *app) useCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "use",
		Short: "Using units: their matters (用证事项) and their grants of license types",
		Long: `use manages, directly in the store, what using units may use licenses for:
their matters, each naming the license types and face fields it needs and
usable once a version is approved, and the license types each unit is
granted (一证一接口). The same operations are in the API under /api/v1/use
(docs/use.md).`,
	}
	matter := &cobra.Command{Use: "matter", Short: "Using units' matters and their review"}
	matter.AddCommand(a.useMatterListCommand(), a.useMatterShowCommand(), a.useMatterCreateCommand(), a.useMatterChangeCommand(),
		a.useMatterVersionsCommand(), a.useMatterReviewCommand("approve"), a.useMatterReviewCommand("refuse"))
	grant := &cobra.Command{Use: "grant", Short: "Grants of license types to using units"}
	grant.AddCommand(a.useGrantListCommand(), a.useGrantCreateCommand(), a.useGrantWithdrawCommand())
	cmd.AddCommand(matter, grant, a.useCaseCommand(), a.useReportCommand())
	return cmd
}

// matterLine is the one-line form of a matter.
func (a *app) matterLine(m use.Matter) string {
	return a.t("cli.use.matter", map[string]any{"Org": m.Org, "Code": m.Code, "Name": m.Name, "Latest": m.Latest, "Approved": m.Approved})
}

// matterVersionLine is the one-line form of a matter version.
func (a *app) matterVersionLine(v use.MatterVersion) string {
	types := make([]string, len(v.Needs))
	for i, n := range v.Needs {
		types[i] = n.TypeCode + "(" + strings.Join(n.Fields, ",") + ")"
	}
	return a.t("cli.use.version", map[string]any{"Org": v.Org, "Code": v.Code, "N": v.Number, "State": v.State, "Name": v.Name,
		"Needs": strings.Join(types, " ")})
}

// grantLine is the one-line form of a type grant, its state as of now.
func (a *app) grantLine(now time.Time) func(use.TypeGrant) string {
	return func(g use.TypeGrant) string {
		until := "-"
		if !g.ValidUntil.IsZero() {
			until = g.ValidUntil.Format(time.RFC3339)
		}
		return a.t("cli.use.grant", map[string]any{"ID": g.ID, "Org": g.Org, "Type": g.TypeCode, "State": g.StateAt(now), "Until": until})
	}
}

func (a *app) useMatterListCommand() *cobra.Command {
	var f use.MatterFilter
	var cursor string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List matters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				pg, err := p.Use.ListMatters(cmd.Context(), nil, f, cursor)
				if err != nil {
					return err
				}
				return printItems(a, httpapi.PageOf(pg, httpapi.MatterOf), pg.Items, a.matterLine)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Org, "org", "", "only this unit's matters (credit code)")
	fl.BoolVar(&f.Usable, "usable", false, "only the matters with an approved version")
	fl.IntVar(&f.Limit, "limit", 0, "page size (default 50)")
	fl.StringVar(&cursor, "cursor", "", "the cursor of the next page")
	return cmd
}

func (a *app) useMatterShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show ORG CODE",
		Short: "Show one matter",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				m, err := p.Use.GetMatter(cmd.Context(), nil, args[0], args[1])
				if err != nil {
					return err
				}
				return a.printLine(httpapi.MatterOf(m), a.matterLine(m))
			})
		},
	}
}

func (a *app) useMatterCreateCommand() *cobra.Command {
	var org, file string
	cmd := &cobra.Command{
		Use:   "create --org ORG --file MATTER.json",
		Short: "List a matter on a unit's behalf (the body of POST /api/v1/use/matters)",
		Example: `  zhengzhao use matter create --org 91610100MA0000010D --file matter.json
  # matter.json: {"code": "KH-001", "name": "开立单位银行结算账户", "legal_basis": "…",
  #               "needs": [{"type": "BL0001", "fields": ["credit_code", "name"]}]}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var n api.NewMatter
			if err := readJSONFile(file, &n); err != nil {
				return err
			}
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				v, err := p.Use.CreateMatter(cmd.Context(), nil, use.NewMatter{Org: org, Code: n.Code, Content: httpapi.MatterContentIn(n.MatterContent)})
				if err != nil {
					return err
				}
				return a.printLine(httpapi.MatterVersionOf(v), a.t("cli.use.proposed", map[string]any{"Code": v.Code, "N": v.Number}))
			})
		},
	}
	cmd.Flags().StringVar(&org, "org", "", "the using unit (credit code)")
	cmd.Flags().StringVar(&file, "file", "", "the matter, JSON")
	return cmd
}

func (a *app) useMatterChangeCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "change ORG CODE --file CONTENT.json",
		Short: "Write the next version of a matter for review (the body of POST /api/v1/use/matters/{org}/{code}/versions)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var c api.MatterContent
			if err := readJSONFile(file, &c); err != nil {
				return err
			}
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				v, err := p.Use.ChangeMatter(cmd.Context(), nil, args[0], args[1], httpapi.MatterContentIn(c))
				if err != nil {
					return err
				}
				return a.printLine(httpapi.MatterVersionOf(v), a.t("cli.use.proposed", map[string]any{"Code": v.Code, "N": v.Number}))
			})
		},
	}
	cmd.Flags().StringVar(&file, "file", "", `the new content, JSON: {"name", "legal_basis", "needs"}`)
	return cmd
}

func (a *app) useMatterVersionsCommand() *cobra.Command {
	var f use.VersionFilter
	var state, cursor string
	cmd := &cobra.Command{
		Use:   "versions [ORG [CODE]]",
		Short: "List matter versions: of one matter, of one unit, or all (--state pending: what waits for review)",
		Args:  cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				f.Org = args[0]
			}
			if len(args) > 1 {
				f.Code = args[1]
			}
			f.State = use.State(state)
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				pg, err := p.Use.ListVersions(cmd.Context(), nil, f, cursor)
				if err != nil {
					return err
				}
				return printItems(a, httpapi.PageOf(pg, httpapi.MatterVersionOf), pg.Items, a.matterVersionLine)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&state, "state", "", "pending, approved, refused or superseded")
	fl.IntVar(&f.Limit, "limit", 0, "page size (default 50)")
	fl.StringVar(&cursor, "cursor", "", "the cursor of the next page")
	return cmd
}

// useMatterReviewCommand is approve or refuse.
func (a *app) useMatterReviewCommand(action string) *cobra.Command {
	var reason string
	short := "Approve a pending version: it becomes the matter's usable one"
	if action == "refuse" {
		short = "Refuse a pending version, with a reason"
	}
	cmd := &cobra.Command{
		Use:   action + " ORG CODE N",
		Short: short,
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[2])
			if err != nil || n < 1 {
				return usageErr("version %q is not a number from 1", args[2])
			}
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				decide := p.Use.Approve
				if action == "refuse" {
					decide = p.Use.Refuse
				}
				v, err := decide(cmd.Context(), nil, args[0], args[1], n, reason)
				if err != nil {
					return err
				}
				return a.printLine(httpapi.MatterVersionOf(v), a.t("cli.use."+string(v.State), map[string]any{"Code": v.Code, "N": v.Number}))
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required to refuse)")
	return cmd
}

func (a *app) useGrantListCommand() *cobra.Command {
	var f use.GrantFilter
	var state, cursor string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List type grants, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.State = use.GrantState(state)
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				pg, err := p.Use.ListTypeGrants(cmd.Context(), nil, f, cursor)
				if err != nil {
					return err
				}
				now := p.Use.Now()
				return printItems(a, httpapi.PageOf(pg, httpapi.TypeGrantOf(now)), pg.Items, a.grantLine(now))
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Org, "org", "", "only this unit's grants (credit code)")
	fl.StringVar(&f.TypeCode, "type", "", "only the grants of this license type")
	fl.StringVar(&state, "state", "", "active, expired or withdrawn")
	fl.IntVar(&f.Limit, "limit", 0, "page size (default 50)")
	fl.StringVar(&cursor, "cursor", "", "the cursor of the next page")
	return cmd
}

func (a *app) useGrantCreateCommand() *cobra.Command {
	var n use.NewTypeGrant
	var until string
	cmd := &cobra.Command{
		Use:     "create --org ORG --type CODE [--until TIME] [--reason …]",
		Short:   "Grant a using unit access to a license type",
		Example: `  zhengzhao use grant create --org 91610100MA0000010D --type BL0001 --until 2027-12-31T16:00:00Z --reason "数据共享协议"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if until != "" {
				t, err := time.Parse(time.RFC3339, until)
				if err != nil {
					return usageErr("--until %q is not an RFC 3339 time such as 2027-12-31T16:00:00Z", until)
				}
				n.ValidUntil = t
			}
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				g, err := p.Use.GrantType(cmd.Context(), nil, n)
				if err != nil {
					return err
				}
				return a.printLine(httpapi.TypeGrantOf(p.Use.Now())(g), a.t("cli.use.granted", map[string]any{"ID": g.ID, "Org": g.Org, "Type": g.TypeCode}))
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&n.Org, "org", "", "the using unit (credit code)")
	fl.StringVar(&n.TypeCode, "type", "", "the license type's code")
	fl.StringVar(&until, "until", "", "when the grant ends, RFC 3339; none: until withdrawn")
	fl.StringVar(&n.Reason, "reason", "", "why, e.g. the agreement it rests on")
	return cmd
}

func (a *app) useGrantWithdrawCommand() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "withdraw ID --reason …",
		Short: "Withdraw a type grant at once, with a reason",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				g, err := p.Use.WithdrawTypeGrant(cmd.Context(), nil, args[0], reason)
				if err != nil {
					return err
				}
				return a.printLine(httpapi.TypeGrantOf(p.Use.Now())(g), a.t("cli.use.withdrawn", map[string]any{"ID": g.ID}))
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why")
	return cmd
}

// caseLine is the one-line form of a record of a case.
func (a *app) caseLine(r use.CaseRecord) string {
	entry := "-"
	if r.Entry != nil {
		entry = strconv.FormatUint(*r.Entry, 10)
	}
	return a.t("cli.use.case-record", map[string]any{"License": r.LicenseID, "Type": r.TypeCode, "Number": r.Number, "Matter": r.Matter,
		"Version": r.MatterVersion, "At": r.UsedAt.Format(time.RFC3339), "By": r.UsedBy, "Use": r.Use, "Entry": entry})
}

func (a *app) useCaseCommand() *cobra.Command {
	var cursor string
	var limit int
	cmd := &cobra.Command{
		Use:   "case ORG CASE",
		Short: "List the licenses kept with a using unit's case (归档)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				pg, err := p.Use.ListCase(cmd.Context(), nil, args[0], args[1], cursor, limit)
				if err != nil {
					return err
				}
				return printItems(a, httpapi.PageOf(pg, httpapi.CaseRecordOf), pg.Items, a.caseLine)
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "page size (default 50)")
	cmd.Flags().StringVar(&cursor, "cursor", "", "the cursor of the next page")
	return cmd
}

func (a *app) useReportCommand() *cobra.Command {
	var q use.ReportQuery
	cmd := &cobra.Command{
		Use:   "report --from YYYY-MM [--to YYYY-MM] [--issuer ORG]",
		Short: "Count how licenses were used, by issuer, using unit, matter and month",
		Long: `report counts, from the audit log as integrated, the licenses returned by
scoped uses and the online redemptions accepted (uses) and refused
(refusals) of each issuer's licenses, per using unit, matter and month of
China Standard Time (UTC+8).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withPlatform(cmd.Context(), func(p *platform.Platform) error {
				rows, err := p.Use.Report(cmd.Context(), nil, q)
				if err != nil {
					return err
				}
				lines := make([]string, len(rows))
				for i, r := range rows {
					lines[i] = a.t("cli.use.report-row", map[string]any{"Month": r.Month, "Issuer": r.Issuer, "Unit": dashIfEmpty(r.Unit),
						"Matter": dashIfEmpty(r.Matter), "Uses": r.Uses, "Refusals": r.Refusals})
				}
				if len(rows) == 0 {
					lines = append(lines, a.t("cli.use.report-empty", nil))
				}
				return a.printLine(httpapi.UsageReportOf(q, rows), strings.Join(lines, "\n"))
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&q.From, "from", "", "the first month, YYYY-MM")
	fl.StringVar(&q.To, "to", "", "the last month, YYYY-MM (default: --from)")
	fl.StringVar(&q.Issuer, "issuer", "", "only this issuer's licenses (credit code)")
	return cmd
}

// dashIfEmpty shows an empty value as "-".
func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
