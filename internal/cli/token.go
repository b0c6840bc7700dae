package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/org"
)

func (a *app) tokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage API tokens directly in the store",
	}
	cmd.AddCommand(a.tokenCreateCommand(), a.tokenListCommand(), a.tokenRevokeCommand())
	return cmd
}

func (a *app) tokenCreateCommand() *cobra.Command {
	var role, orgCode, account, desc string
	var ttl ttlValue
	cmd := &cobra.Command{
		Use:   "create --role ROLE [--org CREDIT_CODE] [--ttl DURATION]",
		Short: "Create an API token and print only the token",
		Long: `create issues a token for an account of the organization (the platform
organization when --org is omitted). The account is --account, or a service
account named after the role, created when missing. stdout receives only the
token, so that scripts can capture it:

  TOKEN=$(zhengzhao token create --role platform-admin)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := authz.ParseRole(role)
			if err != nil {
				return usageErr("--role: %v", err)
			}
			ctx := cmd.Context()
			svc, done, err := a.orgs(ctx)
			if err != nil {
				return err
			}
			defer done()
			if orgCode, err = orgOrPlatform(ctx, svc, orgCode); err != nil {
				return err
			}
			if account == "" {
				account = "svc-" + string(r)
			}
			acc, err := svc.EnsureAccount(ctx, orgCode, account, []authz.Role{r})
			if err != nil {
				return err
			}
			secret, t, err := svc.IssueToken(ctx, org.NewToken{AccountID: acc.ID, Roles: []authz.Role{r}, TTL: time.Duration(ttl), Description: desc})
			if err != nil {
				return err
			}
			return a.printLine(httpapi.TokenOf(t, secret), secret)
		},
	}
	f := cmd.Flags()
	f.StringVar(&role, "role", "", "role of the token (required): "+authz.JoinRoles(authz.Roles()))
	f.StringVar(&orgCode, "org", "", "credit code of the organization (default: the platform organization)")
	f.Var(&ttl, "ttl", "lifetime, e.g. 720h or 30d (default 90d)")
	f.StringVar(&account, "account", "", "account name (default svc-ROLE)")
	f.StringVar(&desc, "description", "", "what the token is for")
	if err := cmd.MarkFlagRequired("role"); err != nil {
		panic(err) // only if the flag defined above was renamed: a programming error
	}
	return cmd
}

func (a *app) tokenListCommand() *cobra.Command {
	var f org.TokenFilter
	var cursor string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, done, err := a.orgs(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			page, err := svc.ListTokens(cmd.Context(), f, cursor)
			if err != nil {
				return err
			}
			return printItems(a, httpapi.PageOf(page, tokenRecord), page.Items, func(t org.Token) string {
				state := "active"
				if t.RevokedAt != nil {
					state = "revoked"
				}
				return fmt.Sprintf("%s  %s…  %s  %-8s  %s  expires %s", t.ID, t.Prefix, t.Org, state, authz.JoinRoles(t.Roles), t.ExpiresAt.Format("2006-01-02"))
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Org, "org", "", "only tokens of this organization")
	fl.StringVar(&f.AccountID, "account-id", "", "only tokens of this account")
	fl.IntVar(&f.Limit, "limit", 0, "page size")
	fl.StringVar(&cursor, "cursor", "", "cursor of the next page")
	return cmd
}

func (a *app) tokenRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke TOKEN_ID",
		Short: "Revoke a token at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, done, err := a.orgs(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			t, err := svc.RevokeToken(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.printLine(tokenRecord(t), t.ID+" revoked")
		},
	}
}

// tokenRecord renders a token without its secret, as every answer but
// the one to its creation does.
func tokenRecord(t org.Token) api.Token { return httpapi.TokenOf(t, "") }

// ttlValue is a token lifetime flag: a Go duration or whole days ("30d").
type ttlValue time.Duration

func (v *ttlValue) String() string {
	if *v == 0 {
		return ""
	}
	return time.Duration(*v).String()
}

func (v *ttlValue) Set(s string) error {
	d, err := httpapi.ParseTTL(s)
	*v = ttlValue(d)
	return err
}

func (v *ttlValue) Type() string { return "duration" }
