package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/org"
)

// The org and token commands work directly on the store: they are for
// operators and scripts on the platform host, like step-ca's offline mode.

func (a *app) orgCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "org",
		Short: "Manage organizations directly in the store",
	}
	cmd.AddCommand(a.orgCreateCommand(), a.orgGetCommand(), a.orgListCommand(), a.orgUpdateCommand())
	return cmd
}

func (a *app) printOrg(o org.Org, msgID string) error {
	return a.printLine(httpapi.OrgOf(o), a.t(msgID, map[string]any{"Code": o.CreditCode, "Name": o.Name, "Version": o.Version}))
}

func (a *app) orgCreateCommand() *cobra.Command {
	var n org.NewOrg
	var kinds []string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an organization",
		Example: `  zhengzhao org create --credit-code 91350100M000100Y43 --name 示例企业 --region 350100 \
    --kind using-unit --responsible-name 李四 --responsible-phone 13900000000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, done, err := a.orgs(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			n.Kinds = toKinds(kinds)
			o, err := svc.CreateOrg(cmd.Context(), n)
			if err != nil {
				return err
			}
			return a.printOrg(o, "cli.org.created")
		},
	}
	f := cmd.Flags()
	f.StringVar(&n.CreditCode, "credit-code", "", "unified social credit code (GB 32100)")
	f.StringVar(&n.Name, "name", "", "organization name")
	f.StringVar(&n.Region, "region", "", "GB/T 2260 region code, 6 digits")
	f.StringSliceVar(&kinds, "kind", nil, "kind, repeatable: platform, issuer, using-unit, industry-authority, seal-user")
	f.StringVar(&n.Responsible.Name, "responsible-name", "", "person responsible for e-license work")
	f.StringVar(&n.Responsible.Phone, "responsible-phone", "", "their phone")
	f.StringVar(&n.Responsible.Email, "responsible-email", "", "their e-mail (optional)")
	f.StringVar(&n.Parent, "parent", "", "credit code of the parent organization (optional)")
	return cmd
}

func toKinds(ks []string) []org.Kind {
	out := make([]org.Kind, len(ks))
	for i, k := range ks {
		out[i] = org.Kind(strings.TrimSpace(k))
	}
	return out
}

func (a *app) orgGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "get CREDIT_CODE",
		Short: "Show one organization",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, done, err := a.orgs(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			o, err := svc.GetOrg(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.print(httpapi.OrgOf(o), func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "credit_code  %s\nname         %s\nregion       %s\nkinds        %s\nstatus       %s\nparent       %s\nresponsible  %s %s %s\nversion      %d\n",
					o.CreditCode, o.Name, o.Region, strings.Join(kindStrings(o.Kinds), ","), o.Status, o.Parent,
					o.Responsible.Name, o.Responsible.Phone, o.Responsible.Email, o.Version)
				return err
			})
		},
	}
}

func (a *app) orgListCommand() *cobra.Command {
	var f org.Filter
	var kind, status, cursor string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List organizations (paginated)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, done, err := a.orgs(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			f.Kind, f.Status = org.Kind(kind), org.Status(status)
			page, err := svc.ListOrgs(cmd.Context(), f, cursor)
			if err != nil {
				return err
			}
			return printItems(a, httpapi.PageOf(page, httpapi.OrgOf), page.Items, func(o org.Org) string {
				return fmt.Sprintf("%s  %s  %-8s  %-30s  %s", o.CreditCode, o.Region, o.Status, strings.Join(kindStrings(o.Kinds), ","), o.Name)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&kind, "kind", "", "only this kind")
	fl.StringVar(&f.Region, "region", "", "only this region code")
	fl.StringVar(&status, "status", "", "only active or inactive")
	fl.IntVar(&f.Limit, "limit", 0, "page size (default 50, at most 500)")
	fl.StringVar(&cursor, "cursor", "", "cursor printed at the end of the previous page")
	return cmd
}

func (a *app) orgUpdateCommand() *cobra.Command {
	var name, region, parent, rName, rPhone, rEmail string
	var kinds []string
	var deactivate, activate bool
	cmd := &cobra.Command{
		Use:   "update CREDIT_CODE",
		Short: "Change, deactivate or reactivate an organization",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if deactivate && activate {
				return usageErr("--activate and --deactivate exclude each other")
			}
			var p org.Patch
			fl := cmd.Flags()
			set := func(flag string, v *string) *string {
				if fl.Changed(flag) {
					return v
				}
				return nil
			}
			p.Name, p.Region, p.Parent = set("name", &name), set("region", &region), set("parent", &parent)
			if fl.Changed("kind") {
				ks := toKinds(kinds)
				p.Kinds = &ks
			}
			if fl.Changed("responsible-name") || fl.Changed("responsible-phone") || fl.Changed("responsible-email") {
				p.Responsible = &org.ResponsiblePatch{Name: set("responsible-name", &rName), Phone: set("responsible-phone", &rPhone), Email: set("responsible-email", &rEmail)}
			}
			if deactivate || activate {
				s := org.Active
				if deactivate {
					s = org.Inactive
				}
				p.Status = &s
			}
			svc, done, err := a.orgs(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			o, err := svc.UpdateOrg(cmd.Context(), args[0], p)
			if err != nil {
				return err
			}
			return a.printOrg(o, "cli.org.updated")
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "new name")
	f.StringVar(&region, "region", "", "new region code")
	f.StringSliceVar(&kinds, "kind", nil, "new kinds (replace the old ones), repeatable")
	f.StringVar(&parent, "parent", "", "new parent credit code; empty removes it")
	f.StringVar(&rName, "responsible-name", "", "new responsible person")
	f.StringVar(&rPhone, "responsible-phone", "", "their phone")
	f.StringVar(&rEmail, "responsible-email", "", "their e-mail")
	f.BoolVar(&deactivate, "deactivate", false, "deactivate: the organization's tokens stop working")
	f.BoolVar(&activate, "activate", false, "reactivate")
	return cmd
}
