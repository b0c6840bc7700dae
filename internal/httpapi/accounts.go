package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/org"
)

// AccountOf renders an account for the API.
func AccountOf(a org.Account) api.Account {
	return api.Account{ID: a.ID, Org: a.Org, Name: a.Name, Roles: rolesOut(a.Roles), Status: string(a.Status), CreatedAt: a.CreatedAt}
}

func rolesOut(rs []authz.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

func rolesIn(rs []string) []authz.Role {
	out := make([]authz.Role, len(rs))
	for i, r := range rs {
		out[i] = authz.Role(r)
	}
	return out
}

type createAccountInput struct {
	IdempotencyParam
	CreditCode string `path:"credit_code" maxLength:"64"`
	Body       struct {
		Name     string   `json:"name" maxLength:"1000"`
		Roles    []string `json:"roles" maxItems:"7" enum:"platform-admin,org-admin,issuer,seal-keeper,seal-approver,using-unit,auditor"`
		Password string   `json:"password,omitempty" maxLength:"1024" doc:"Console password (at least 12 characters), stored as an argon2id hash."`
	}
}

type accountOutput struct {
	Body api.Account
}

type listAccountsInput struct {
	ListParams
	CreditCode string `path:"credit_code" maxLength:"64"`
}

func (a *API) registerAccounts() {
	a.registerCreateAccount()
	a.registerListAccounts()
}

func (a *API) registerCreateAccount() {
	register(a, huma.Operation{
		OperationID: "create-account", Method: http.MethodPost, Path: Prefix + "/orgs/{credit_code}/accounts", Tags: []string{"accounts"},
		Summary:       "Create a staff account",
		Description:   "创建工作人员账号。platform-admin and auditor exist only in the platform organization; an org admin cannot hand out those.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, authz.Allow(authz.Any(authz.PlatformAdmin), authz.Own(authz.OrgAdmin)).About("credit_code"),
		func(ctx context.Context, in *createAccountInput) (*accountOutput, error) {
			acc, err := a.svc.Orgs.CreateAccount(ctx, org.NewAccount{
				Org: in.CreditCode, Name: in.Body.Name, Roles: rolesIn(in.Body.Roles), Password: in.Body.Password,
			})
			if err != nil {
				return nil, err
			}
			return &accountOutput{Body: AccountOf(acc)}, nil
		})
}

func (a *API) registerListAccounts() {
	register(a, huma.Operation{
		OperationID: "list-accounts", Method: http.MethodGet, Path: Prefix + "/orgs/{credit_code}/accounts", Tags: []string{"accounts"},
		Summary: "List an organization's accounts", Errors: []int{http.StatusNotFound},
	}, authz.Allow(authz.Any(authz.PlatformAdmin, authz.Auditor), authz.Own(authz.OrgAdmin)).About("credit_code"),
		func(ctx context.Context, in *listAccountsInput) (*pageOutput[api.Account], error) {
			p, err := a.svc.Orgs.ListAccounts(ctx, in.CreditCode, in.Limit, in.Cursor)
			if err != nil {
				return nil, err
			}
			return pageOut(p, AccountOf), nil
		})
}
