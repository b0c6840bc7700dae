package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/holder"
	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// demoTokenTTL is how long demo tokens live.
const demoTokenTTL = 30 * 24 * time.Hour

// demoTokenDescription marks the demo's tokens, which each run replaces.
const demoTokenDescription = "demo"

type demoOrg struct {
	authority, category byte
	body                string
	name                string
	kinds               []org.Kind
	accounts            map[string][]authz.Role // account name → roles
}

// demoOrgs is the demo city: Xi'an (region 610100).
func demoOrgs() []demoOrg {
	return []demoOrg{
		{'1', '1', "MB000001", "西安市数据局（演示）", []org.Kind{org.KindPlatform},
			map[string][]authz.Role{"demo-platform-admin": {authz.PlatformAdmin}, "demo-auditor": {authz.Auditor}, "demo-seal-approver": {authz.SealApprover}}},
		{'1', '1', "MB000002", "西安市市场监督管理局（演示）", []org.Kind{org.KindIssuer, org.KindSealUser},
			map[string][]authz.Role{"demo-org-admin": {authz.OrgAdmin}, "demo-issuer": {authz.Issuer}, "demo-seal-keeper": {authz.SealKeeper}}},
		{'1', '1', "MB000003", "西安市公安局（演示）", []org.Kind{org.KindIssuer}, nil},
		{'9', '1', "MA000001", "演示银行西安分行", []org.Kind{org.KindUsingUnit},
			map[string][]authz.Role{"demo-using-unit": {authz.UsingUnit}}},
	}
}

type demoToken struct {
	Role    authz.Role `json:"role"`
	Org     string     `json:"org"`
	Account string     `json:"account"`
	Token   string     `json:"token"`
}

type demoData struct {
	Orgs    []org.Org
	Tokens  []demoToken
	Revoked int // tokens of earlier runs revoked
	// Sample is the body of an issuance the demo's issuer may send: a
	// business license with the shipped sample face.
	Sample []byte
	// Holder is a holder session of the company that license is issued
	// to, signed in with the demo login; HolderLogin is the body of that
	// sign-in.
	Holder      *api.HolderSession
	HolderLogin []byte
}

// seedDemo creates the demo organizations and accounts when missing, and a
// fresh token for each role in place of the previous run's.
func seedDemo(ctx context.Context, p *platform.Platform) (*demoData, error) {
	svc := p.Orgs
	d := &demoData{}
	var platform, regulator string
	var reviewer *authz.Actor
	staff := map[authz.Role]*authz.Actor{} // the demo's account of each role
	for _, o := range demoOrgs() {
		code, err := ids.NewCreditCode(o.authority, o.category, "610100", o.body)
		if err != nil {
			return nil, err
		}
		if platform == "" {
			platform = code
		}
		if regulator == "" && slices.Contains(o.kinds, org.KindIssuer) {
			regulator = code
		}
		got, err := svc.GetOrg(ctx, code)
		if err != nil {
			n := org.NewOrg{CreditCode: code, Name: o.name, Region: "610100", Kinds: o.kinds,
				Responsible: org.Responsible{Name: "演示负责人", Phone: "13800000000", Email: "demo@example.cn"}}
			if code != platform {
				n.Parent = platform
			}
			if got, err = svc.CreateOrg(ctx, n); err != nil {
				return nil, err
			}
		}
		d.Orgs = append(d.Orgs, got)
		for name, roles := range o.accounts {
			acc, err := svc.EnsureAccount(ctx, code, name, roles)
			if err != nil {
				return nil, err
			}
			// The secrets of earlier runs are gone (only hashes are stored):
			// they are revoked as the new ones are issued, so that one
			// valid token per role is all the demo ever leaves.
			secret, _, revoked, err := svc.ReplaceToken(ctx, org.NewToken{AccountID: acc.ID, TTL: demoTokenTTL, Description: demoTokenDescription})
			if err != nil {
				return nil, err
			}
			d.Revoked += revoked
			staff[roles[0]] = &authz.Actor{AccountID: acc.ID, AccountName: acc.Name, Org: code, Roles: roles}
			if slices.Contains(roles, authz.PlatformAdmin) {
				reviewer = staff[roles[0]]
			}
			d.Tokens = append(d.Tokens, demoToken{Role: roles[0], Org: code, Account: name, Token: secret})
		}
	}
	order := map[authz.Role]int{}
	for i, r := range authz.Roles() {
		order[r] = i
	}
	sortTokens(d.Tokens, order)
	// The platform root certifies seal keys; the demo makes it once.
	if _, _, err := p.PKI.Root(ctx); errors.Is(err, apperr.NotFound) {
		if _, err := p.PKI.InitRoot(ctx, platform, "platform-root", "zhengzhao 平台根证书（演示）", keys.SM2SM3, 20); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	defs, err := catalog.Shipped()
	if err != nil {
		return nil, err
	}
	if err := seedCatalog(ctx, p.Catalog, defs, reviewer, regulator); err != nil {
		return nil, err
	}
	if err := seedLicenseSeal(ctx, p.Seals, regulator, staff); err != nil {
		return nil, err
	}
	if err := seedUse(ctx, p.Use, staff[authz.UsingUnit], reviewer); err != nil {
		return nil, err
	}
	sample, company, err := demoIssuance(defs)
	if err != nil {
		return nil, err
	}
	d.Sample = sample
	if sample != nil && p.Holders.Config().Demo {
		c := holder.Claims{Kind: catalog.HolderOrganization, Identifier: company.CreditCode, Name: company.Name, Representative: "演示经办人"}
		secret, ses, h, err := p.Holders.DemoSignIn(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("demo holder session: %w", err)
		}
		s := httpapi.HolderSessionOf(secret, ses, h, p.Holders.Config().Idle)
		d.Holder = &s
		if d.HolderLogin, err = json.Marshal(api.HolderDemoLogin{CreditCode: c.Identifier, Name: c.Name, Representative: c.Representative}); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// demoCompany is the company the shipped business license sample names.
type demoCompany struct {
	CreditCode string `json:"credit_code"`
	Name       string `json:"name"`
}

// demoIssuance returns the body of a business license issuance with the
// shipped sample face, the holder being the company the sample names.
func demoIssuance(defs []catalog.Definition) ([]byte, demoCompany, error) {
	for _, def := range defs {
		if def.Type.Code != "BL0001" {
			continue
		}
		var face demoCompany
		if err := json.Unmarshal(def.Sample, &face); err != nil {
			return nil, face, fmt.Errorf("the sample of %s: %w", def.Type.Code, err)
		}
		b, err := json.Marshal(map[string]any{"type": def.Type.Code, "holder_id": face.CreditCode, "holder_name": face.Name, "face": def.Sample})
		return b, face, err
	}
	return nil, demoCompany{}, nil
}

// seedLicenseSeal gives the demo's market regulator a license-issuing seal
// (证照专用章) bound to license issuance, so that its issuer token issues
// licenses at once. Both go through the applications every organization
// files: its admin applies, the platform's seal approver approves.
func seedLicenseSeal(ctx context.Context, seals *seal.Service, regulator string, staff map[authz.Role]*authz.Actor) error {
	p, err := seals.ListSeals(ctx, seal.Filter{Org: regulator, Kind: seal.LicenseIssuing, Limit: 1}, "")
	if err != nil || len(p.Items) > 0 {
		return err
	}
	admin, approver := staff[authz.OrgAdmin], staff[authz.SealApprover]
	decide := func(n seal.NewApplication) (seal.Application, error) {
		a, err := seals.Apply(ctx, admin, n)
		if err != nil {
			return a, fmt.Errorf("demo license-issuing seal (%s): %w", n.Action, err)
		}
		if a, err = seals.Decide(ctx, approver, a.ID, true, "演示数据"); err != nil {
			return a, fmt.Errorf("demo license-issuing seal (%s): %w", n.Action, err)
		}
		return a, nil
	}
	made, err := decide(seal.NewApplication{Org: regulator, Action: seal.Make, SealKind: seal.LicenseIssuing, Name: "证照专用章（演示）",
		Reason: "签发电子证照", Image: seal.SampleImage(), WidthMM: 40, HeightMM: 40, Keepers: []string{staff[authz.SealKeeper].AccountID}})
	if err != nil {
		return err
	}
	_, err = decide(seal.NewApplication{Org: regulator, Action: seal.Bind, SealID: made.SealID, Reason: "证照签发（演示）"})
	return err
}

// seedCatalog puts the shipped license types in the catalog, each with an
// approved version, so that a newcomer finds them (GET
// /api/v1/catalog/types). The operator proposes each version and the demo
// platform admin approves it: the review flow every type goes through,
// with two people. A shipped type that names its issuers is issued in the
// demo city by its market regulator instead.
func seedCatalog(ctx context.Context, svc *catalog.Service, defs []catalog.Definition, reviewer *authz.Actor, regulator string) error {
	for _, def := range defs {
		t := def.Type
		if len(t.Issuers) > 0 {
			t.Issuers = []string{regulator}
		}
		e, err := svc.GetType(ctx, t.Code)
		if errors.Is(err, apperr.NotFound) {
			e, err = svc.DefineType(ctx, nil, t)
		}
		if err != nil {
			return fmt.Errorf("demo license type %s: %w", t.Code, err)
		}
		if e.Approved > 0 {
			continue
		}
		v, err := svc.ProposeVersion(ctx, nil, t.Code, def.Template)
		if err != nil {
			return fmt.Errorf("demo license type %s: %w", t.Code, err)
		}
		if _, err := svc.Approve(ctx, reviewer, t.Code, v.Number, "随平台发布的证照类型（演示）"); err != nil {
			return fmt.Errorf("demo license type %s: %w", t.Code, err)
		}
	}
	return nil
}

// The demo bank's matter and the type it is granted.
const (
	demoMatter     = "KH-001"
	demoMatterType = "BL0001"
)

// seedUse gives the demo bank one approved matter, opening a company's
// settlement account with the business license's credit code, name and
// legal representative, and a grant of the business license type: what
// the scoped use of a license needs. The bank's staff list the matter and
// the demo platform admin approves it and grants the type, as on a real
// platform.
func seedUse(ctx context.Context, svc *use.Service, bank, reviewer *authz.Actor) error {
	if bank == nil || reviewer == nil {
		return nil
	}
	m, err := svc.GetMatter(ctx, reviewer, bank.Org, demoMatter)
	if errors.Is(err, apperr.NotFound) {
		var v use.MatterVersion
		v, err = svc.CreateMatter(ctx, bank, use.NewMatter{Code: demoMatter, Content: use.Content{Name: "开立单位银行结算账户（演示）",
			LegalBasis: "《人民币银行结算账户管理办法》第十七条",
			Needs:      []use.Need{{TypeCode: demoMatterType, Fields: []string{"credit_code", "name", "legal_representative"}}}}})
		m = use.Matter{Latest: v.Number}
	}
	if err != nil {
		return fmt.Errorf("demo matter: %w", err)
	}
	if m.Approved == 0 {
		// Only a version still pending is approved: one someone refused
		// stays refused, and the demo goes on without a usable matter.
		v, err := svc.GetVersion(ctx, reviewer, bank.Org, demoMatter, m.Latest)
		if err == nil && v.State == use.Pending {
			_, err = svc.Approve(ctx, reviewer, bank.Org, demoMatter, m.Latest, "演示数据")
		}
		if err != nil {
			return fmt.Errorf("demo matter: %w", err)
		}
	}
	grants, err := svc.ListTypeGrants(ctx, reviewer, use.GrantFilter{Org: bank.Org, TypeCode: demoMatterType, State: use.GrantActive, Limit: 1}, "")
	if err != nil || len(grants.Items) > 0 {
		return err
	}
	if _, err := svc.GrantType(ctx, reviewer, use.NewTypeGrant{Org: bank.Org, TypeCode: demoMatterType, Reason: "演示数据"}); err != nil {
		return fmt.Errorf("demo type grant: %w", err)
	}
	return nil
}

func sortTokens(ts []demoToken, order map[authz.Role]int) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && order[ts[j].Role] < order[ts[j-1].Role]; j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

// printDemo prints where the demo serves and its tokens. Only the JSON form
// reports a write error, as printJSON does for every command.
func (a *app) printDemo(d *demoData, base string, db *store.DB) error {
	return a.print(map[string]any{"api": base + "/api/v1", "docs": base + "/api/docs", "store": a.storeName(db), "tokens": d.Tokens, "revoked": d.Revoked,
		"holder_session": d.Holder},
		func(w io.Writer) error {
			a.printDemoText(w, d, base, db)
			return nil
		})
}

// printDemoText is the human form of printDemo.
func (a *app) printDemoText(w io.Writer, d *demoData, base string, db *store.DB) {
	fmt.Fprintln(w, "== "+a.t("cli.demo.title", nil)+" ==")
	fmt.Fprintln(w, a.t("cli.demo.data", map[string]any{"Dir": a.storeName(db)}))
	fmt.Fprintln(w, a.t("cli.demo.api", map[string]any{"URL": base + "/api/v1"}))
	fmt.Fprintln(w, a.t("cli.demo.docs", map[string]any{"URL": base + "/api/docs"}))
	fmt.Fprintln(w, a.t("cli.demo.holder-page", map[string]any{"URL": base + "/holder/"}))
	fmt.Fprintln(w, a.t("cli.demo.verifier-page", map[string]any{"URL": base + "/verify/"}))
	fmt.Fprintln(w)
	for _, o := range d.Orgs {
		fmt.Fprintf(w, "  %s  %-28s %s\n", o.CreditCode, strings.Join(kindStrings(o.Kinds), ","), o.Name)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, a.t("cli.demo.tokens", map[string]any{"Days": int(demoTokenTTL.Hours() / 24)}))
	if d.Revoked > 0 {
		fmt.Fprintln(w, a.t("cli.demo.revoked", map[string]any{"N": d.Revoked}))
	}
	admin, issuer := "", ""
	for _, t := range d.Tokens {
		fmt.Fprintf(w, "  %-15s %s  %s\n", t.Role, t.Org, t.Token)
		switch t.Role {
		case authz.PlatformAdmin:
			admin = t.Token
		case authz.Issuer:
			issuer = t.Token
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, a.t("cli.demo.try", nil))
	fmt.Fprintf(w, "  export ZZ_TOKEN=%s\n", admin)
	fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $ZZ_TOKEN\" %s/api/v1/me\n", base)
	fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $ZZ_TOKEN\" '%s/api/v1/orgs?kind=issuer'\n", base)
	fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $ZZ_TOKEN\" '%s/api/v1/catalog/types?usable=true'\n", base)
	fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $ZZ_TOKEN\" -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' \\\n"+
		"    -d '{\"credit_code\":\"91350100M000100Y43\",\"name\":\"示例企业\",\"region\":\"350100\",\"kinds\":[\"using-unit\"],\"responsible\":{\"name\":\"李四\",\"phone\":\"13900000000\"}}' \\\n"+
		"    %s/api/v1/orgs\n", base)
	if d.Sample != nil {
		fmt.Fprintln(w, a.t("cli.demo.issue", nil))
		fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' \\\n"+
			"    -d '%s' \\\n    %s/api/v1/licenses\n", issuer, d.Sample, base)
	}
	if d.Holder != nil {
		fmt.Fprintln(w, a.t("cli.demo.holder", map[string]any{"Name": d.Holder.Holder.Name, "Minutes": d.Holder.IdleSecs / 60,
			"Hours": int(d.Holder.ExpiresAt.Sub(d.Holder.CreatedAt).Hours())}))
		fmt.Fprintf(w, "  curl -s -H 'Authorization: Bearer %s' %s/api/v1/me/licenses\n", d.Holder.Token, base)
		fmt.Fprintln(w, a.t("cli.demo.holder-login", nil))
		fmt.Fprintf(w, "  curl -s -H 'Content-Type: application/json' -d '%s' %s/api/v1/holder/demo-login\n", d.HolderLogin, base)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, a.t("cli.demo.warning", nil))
}

func kindStrings(ks []org.Kind) []string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return s
}
