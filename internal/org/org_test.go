package org_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newService(db *store.DB) (*org.Service, *clock) {
	c := &clock{t: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	return org.NewService(org.Deps{Store: db, Tx: db.OrgTx, Now: c.now, Rand: rand.Reader}), c
}

// code returns the n-th valid test credit code.
func code(t testing.TB, n int) string {
	t.Helper()
	c, err := ids.NewCreditCode('1', '1', "610100", fmt.Sprintf("MB%06d", n))
	if err != nil {
		t.Fatalf("NewCreditCode: %v", err)
	}
	return c
}

func newOrg(t testing.TB, n int, kinds ...org.Kind) org.NewOrg {
	return org.NewOrg{
		CreditCode: code(t, n), Name: fmt.Sprintf("测试单位%d", n), Region: "610100", Kinds: kinds,
		Responsible: org.Responsible{Name: "张三", Phone: "13800138000", Email: "zhang@example.cn"},
	}
}

func fieldRules(err error) map[string]string {
	var e *apperr.Error
	if !errors.As(err, &e) {
		return nil
	}
	m := map[string]string{}
	for _, f := range e.Fields {
		m[f.Field] = f.Rule
	}
	return m
}

func TestCreateOrgValidation(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		svc, _ := newService(db)
		ctx := context.Background()
		good := newOrg(t, 1, org.KindIssuer)
		bad := func(f func(*org.NewOrg)) org.NewOrg { n := good; f(&n); return n }
		cases := []struct {
			name  string
			in    org.NewOrg
			field string
			rule  string
		}{
			{"check character", bad(func(n *org.NewOrg) { n.CreditCode = n.CreditCode[:17] + "0" }), "credit_code", "check-character"},
			{"short code", bad(func(n *org.NewOrg) { n.CreditCode = "123" }), "credit_code", "length"},
			{"empty name", bad(func(n *org.NewOrg) { n.Name = " " }), "name", "required"},
			{"region", bad(func(n *org.NewOrg) { n.Region = "99010" }), "region", "length"},
			{"no kinds", bad(func(n *org.NewOrg) { n.Kinds = nil }), "kinds", "required"},
			{"bad kind", bad(func(n *org.NewOrg) { n.Kinds = []org.Kind{"bank"} }), "kinds[0]", "enum"},
			{"twice", bad(func(n *org.NewOrg) { n.Kinds = []org.Kind{org.KindIssuer, org.KindIssuer} }), "kinds[1]", "unique"},
			{"phone", bad(func(n *org.NewOrg) { n.Responsible.Phone = "12345" }), "responsible.phone", "phone"},
			{"email", bad(func(n *org.NewOrg) { n.Responsible.Email = "not-mail" }), "responsible.email", "email"},
			{"no parent", bad(func(n *org.NewOrg) { n.Parent = code(t, 99) }), "parent", "exists"},
			{"self parent", bad(func(n *org.NewOrg) { n.Parent = n.CreditCode }), "parent", "not-self"},
		}
		for _, c := range cases {
			_, err := svc.CreateOrg(ctx, c.in)
			if !errors.Is(err, apperr.Invalid) {
				t.Errorf("%s: err = %v, want invalid", c.name, err)
				continue
			}
			if got := fieldRules(err)[c.field]; got != c.rule {
				t.Errorf("%s: rule of %s = %q, want %q (all: %v)", c.name, c.field, got, c.rule, fieldRules(err))
			}
		}
		page, err := svc.ListOrgs(ctx, org.Filter{}, "")
		if err != nil || len(page.Items) != 0 {
			t.Fatalf("after rejected creates: %d orgs, err %v; want none stored", len(page.Items), err)
		}
	})
}

func TestOrgLifecycle(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		svc, clk := newService(db)
		ctx := context.Background()
		platform, err := svc.CreateOrg(ctx, newOrg(t, 1, org.KindPlatform))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateOrg(ctx, newOrg(t, 2, org.KindPlatform)); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("second platform: err = %v, want conflict", err)
		}
		if _, err := svc.CreateOrg(ctx, newOrg(t, 1, org.KindIssuer)); !errors.Is(err, apperr.Conflict) || fieldRules(err)["credit_code"] != "unique" {
			t.Fatalf("duplicate: err = %v, want conflict on credit_code", err)
		}
		child := newOrg(t, 3, org.KindIssuer, org.KindSealUser)
		child.Parent = platform.CreditCode
		created, err := svc.CreateOrg(ctx, child)
		if err != nil {
			t.Fatal(err)
		}
		got, err := svc.GetOrg(ctx, created.CreditCode)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != child.Name || got.Parent != platform.CreditCode || !slices.Equal(got.Kinds, []org.Kind{org.KindIssuer, org.KindSealUser}) ||
			got.Responsible != child.Responsible || got.Status != org.Active || !got.CreatedAt.Equal(clk.now()) {
			t.Fatalf("got %+v, want what was created", got)
		}

		clk.add(time.Hour)
		name, inactive := "改名单位", org.Inactive
		phone := "029-88886666"
		upd, err := svc.UpdateOrg(ctx, created.CreditCode, org.Patch{Name: &name, Status: &inactive, Responsible: &org.ResponsiblePatch{Phone: &phone}})
		if err != nil {
			t.Fatal(err)
		}
		if upd.Name != name || upd.Status != org.Inactive || upd.Version != 2 || upd.Responsible.Phone != phone || upd.Responsible.Name != "张三" || !upd.UpdatedAt.Equal(clk.now()) {
			t.Fatalf("update: got %+v", upd)
		}
		badRegion := "1"
		if _, err := svc.UpdateOrg(ctx, created.CreditCode, org.Patch{Name: &badRegion, Region: &badRegion}); !errors.Is(err, apperr.Invalid) {
			t.Fatalf("bad patch: err = %v, want invalid", err)
		}
		again, _ := svc.GetOrg(ctx, created.CreditCode)
		if again.Name != name || again.Version != 2 {
			t.Fatalf("a rejected patch changed the store: %+v", again)
		}
		if _, err := svc.UpdateOrg(ctx, platform.CreditCode, org.Patch{Status: &inactive}); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("deactivating the platform: err = %v, want conflict", err)
		}
		if _, err := svc.GetOrg(ctx, code(t, 50)); !errors.Is(err, apperr.NotFound) {
			t.Fatalf("missing org: err = %v, want not-found", err)
		}
	})
}

func TestListOrgsPagesAndFilters(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		svc, _ := newService(db)
		ctx := context.Background()
		var issuers []string
		for i := 1; i <= 7; i++ {
			k := org.KindUsingUnit
			if i%2 == 1 {
				k = org.KindIssuer
			}
			n := newOrg(t, i, k)
			if i == 7 {
				n.Region = "440300"
			}
			o, err := svc.CreateOrg(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if k == org.KindIssuer {
				issuers = append(issuers, o.CreditCode)
			}
		}
		slices.Sort(issuers)
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			p, err := svc.ListOrgs(ctx, org.Filter{Kind: org.KindIssuer, Limit: 3}, cursor)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range p.Items {
				got = append(got, o.CreditCode)
			}
			if p.Next == "" {
				break
			}
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			cursor = p.Next
		}
		if !slices.Equal(got, issuers) {
			t.Fatalf("issuers paged = %v, want %v", got, issuers)
		}
		p, err := svc.ListOrgs(ctx, org.Filter{Region: "440300"}, "")
		if err != nil || len(p.Items) != 1 || p.Items[0].Region != "440300" {
			t.Fatalf("region filter: %+v, %v", p.Items, err)
		}
		for _, f := range []org.Filter{{Kind: "bank"}, {Region: "x"}, {Limit: 100000}} {
			if _, err := svc.ListOrgs(ctx, f, ""); !errors.Is(err, apperr.Invalid) {
				t.Errorf("filter %+v: err = %v, want invalid", f, err)
			}
		}
		if _, err := svc.ListOrgs(ctx, org.Filter{}, "!!"); !errors.Is(err, apperr.Invalid) {
			t.Errorf("bad cursor: err = %v, want invalid", err)
		}
	})
}

// TestConcurrentUpdates proves that WithTx serializes read-modify-write
// transactions on both stores: no update is lost and none fails.
func TestConcurrentUpdates(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		svc, _ := newService(db)
		ctx := context.Background()
		o, err := svc.CreateOrg(ctx, newOrg(t, 1, org.KindIssuer))
		if err != nil {
			t.Fatal(err)
		}
		const workers, each = 4, 5
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					name := fmt.Sprintf("单位%d-%d", w, i)
					if _, err := svc.UpdateOrg(ctx, o.CreditCode, org.Patch{Name: &name}); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent update: %v", err)
		}
		got, _ := svc.GetOrg(ctx, o.CreditCode)
		if got.Version != 1+workers*each {
			t.Fatalf("version = %d, want %d: updates were lost", got.Version, 1+workers*each)
		}
	})
}

func TestTokens(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		svc, clk := newService(db)
		ctx := context.Background()
		platform, _ := svc.CreateOrg(ctx, newOrg(t, 1, org.KindPlatform))
		issuer, _ := svc.CreateOrg(ctx, newOrg(t, 2, org.KindIssuer))

		if _, err := svc.CreateAccount(ctx, org.NewAccount{Org: issuer.CreditCode, Name: "x", Roles: []authz.Role{authz.PlatformAdmin}}); fieldRules(err)["roles[0]"] != "role-in-org" {
			t.Fatalf("platform-admin outside the platform: err = %v", err)
		}
		acc, err := svc.CreateAccount(ctx, org.NewAccount{Org: issuer.CreditCode, Name: "clerk", Roles: []authz.Role{authz.Issuer, authz.OrgAdmin}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateAccount(ctx, org.NewAccount{Org: issuer.CreditCode, Name: "clerk", Roles: []authz.Role{authz.Issuer}}); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("duplicate account: err = %v", err)
		}
		if _, _, err := svc.IssueToken(ctx, org.NewToken{AccountID: acc.ID, Roles: []authz.Role{authz.Auditor}}); !errors.Is(err, apperr.Invalid) {
			t.Fatalf("token with a role the account lacks: err = %v", err)
		}
		secret, tok, err := svc.IssueToken(ctx, org.NewToken{AccountID: acc.ID, Roles: []authz.Role{authz.Issuer}, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if len(secret) != len(org.TokenPrefix)+43 || secret[:len(tok.Prefix)] != tok.Prefix {
			t.Fatalf("secret %q does not start with prefix %q or has the wrong length", secret, tok.Prefix)
		}
		actor, err := svc.Authenticate(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		if actor.Org != issuer.CreditCode || !slices.Equal(actor.Roles, []authz.Role{authz.Issuer}) || actor.TokenID != tok.ID {
			t.Fatalf("actor = %+v", actor)
		}
		flipped := secret[:len(secret)-1] + map[bool]string{true: "A", false: "B"}[secret[len(secret)-1] != 'A']
		for _, s := range []string{"", "zz_", secret + "x", flipped, "Bearer " + secret} {
			if _, err := svc.Authenticate(ctx, s); !errors.Is(err, apperr.Unauthenticated) {
				t.Errorf("Authenticate(%q) err = %v, want unauthenticated", s, err)
			}
		}
		// Deactivating the organization revokes its tokens, for good:
		// reactivating it does not bring them back, and none is issued
		// while it is inactive.
		off, on := org.Inactive, org.Active
		if _, err := svc.UpdateOrg(ctx, issuer.CreditCode, org.Patch{Status: &off}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, secret); !errors.Is(err, apperr.Unauthenticated) {
			t.Fatalf("token of an inactive org: err = %v", err)
		}
		if got, err := svc.GetToken(ctx, tok.ID); err != nil || got.RevokedAt == nil {
			t.Fatalf("token of a deactivated org not revoked: %+v %v", got, err)
		}
		if _, _, err := svc.IssueToken(ctx, org.NewToken{AccountID: acc.ID}); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("token issued in an inactive org: %v", err)
		}
		if _, err := svc.UpdateOrg(ctx, issuer.CreditCode, org.Patch{Status: &on}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, secret); !errors.Is(err, apperr.Unauthenticated) {
			t.Fatalf("token issued before the deactivation works after the reactivation: %v", err)
		}
		secret, _, err = svc.IssueToken(ctx, org.NewToken{AccountID: acc.ID, Roles: []authz.Role{authz.Issuer}, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, secret); err != nil {
			t.Fatalf("token issued after the reactivation: %v", err)
		}
		clk.add(time.Hour)
		if _, err := svc.Authenticate(ctx, secret); !errors.Is(err, apperr.Unauthenticated) {
			t.Fatalf("expired token: err = %v", err)
		}

		secret2, tok2, err := svc.IssueToken(ctx, org.NewToken{AccountID: acc.ID})
		if err != nil {
			t.Fatal(err)
		}
		if !tok2.ExpiresAt.Equal(clk.now().Add(org.DefaultTokenTTL)) || len(tok2.Roles) != 2 {
			t.Fatalf("default token: %+v", tok2)
		}
		if _, err := svc.RevokeToken(ctx, tok2.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.RevokeToken(ctx, tok2.ID); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		if _, err := svc.Authenticate(ctx, secret2); !errors.Is(err, apperr.Unauthenticated) {
			t.Fatalf("revoked token: err = %v", err)
		}
		page, err := svc.ListTokens(ctx, org.TokenFilter{Org: issuer.CreditCode}, "")
		if err != nil || len(page.Items) != 3 {
			t.Fatalf("tokens of issuer: %d, %v; want 3", len(page.Items), err)
		}
		if page, _ := svc.ListTokens(ctx, org.TokenFilter{Org: platform.CreditCode}, ""); len(page.Items) != 0 {
			t.Fatalf("tokens of platform: %d, want 0", len(page.Items))
		}
		again, err := svc.EnsureAccount(ctx, issuer.CreditCode, "clerk", []authz.Role{authz.Issuer})
		if err != nil || again.ID != acc.ID {
			t.Fatalf("EnsureAccount existing: %+v, %v", again, err)
		}
		if _, err := svc.EnsureAccount(ctx, issuer.CreditCode, "clerk", []authz.Role{authz.SealKeeper}); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("EnsureAccount with a role the account lacks: err = %v", err)
		}
	})
}

// TestChangesAreAudited checks that every change of an organization,
// account or token is logged with its actor in the change's transaction,
// that a failed change logs nothing, and that neither token secrets nor the
// responsible person's contact details reach the log.
func TestChangesAreAudited(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		svc, _ := newService(db)
		ctx := context.Background()
		platform := code(t, 1)
		if _, err := svc.CreateOrg(ctx, org.NewOrg{CreditCode: platform, Name: "平台", Region: "610100", Kinds: []org.Kind{org.KindPlatform},
			Responsible: org.Responsible{Name: "张三", Phone: "13800000000"}}); err != nil {
			t.Fatal(err)
		}
		admin, err := svc.CreateAccount(ctx, org.NewAccount{Org: platform, Name: "admin", Roles: []authz.Role{authz.PlatformAdmin}})
		if err != nil {
			t.Fatal(err)
		}
		asAdmin := authz.WithActor(ctx, &authz.Actor{AccountID: admin.ID, Org: platform, Roles: admin.Roles})
		issuer := code(t, 2)
		if _, err := svc.CreateOrg(asAdmin, org.NewOrg{CreditCode: issuer, Name: "发证单位", Region: "610100", Kinds: []org.Kind{org.KindIssuer},
			Responsible: org.Responsible{Name: "李四", Phone: "13900000000"}}); err != nil {
			t.Fatal(err)
		}
		before, _ := storetest.AuditEntries(t, db)
		if _, err := svc.CreateOrg(asAdmin, org.NewOrg{CreditCode: issuer, Name: "重复", Region: "610100", Kinds: []org.Kind{org.KindIssuer},
			Responsible: org.Responsible{Name: "李四", Phone: "13900000000"}}); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("a second org with the same code: %v", err)
		}
		if after, _ := storetest.AuditEntries(t, db); len(after) != len(before) {
			t.Fatalf("a refused change logged %d entries", len(after)-len(before))
		}
		phone := "13700000001"
		if _, err := svc.UpdateOrg(asAdmin, issuer, org.Patch{Responsible: &org.ResponsiblePatch{Phone: &phone}}); err != nil {
			t.Fatal(err)
		}
		secret, tok, err := svc.IssueToken(asAdmin, org.NewToken{AccountID: admin.ID})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // revoking twice logs once
			if _, err := svc.RevokeToken(asAdmin, tok.ID); err != nil {
				t.Fatal(err)
			}
		}
		entries, leaves := storetest.AuditEntries(t, db)
		var got []string
		for _, e := range entries {
			got = append(got, fmt.Sprintf("%s %s %s %s", e.Actor, e.Action, e.Org, e.Subject))
		}
		want := []string{
			auditlog.Operator + " org.created " + platform + " " + platform,
			auditlog.Operator + " account.created " + platform + " " + admin.ID,
			admin.ID + " org.created " + issuer + " " + issuer,
			admin.ID + " org.updated " + issuer + " " + issuer,
			admin.ID + " token.issued " + platform + " " + tok.ID,
			admin.ID + " token.revoked " + platform + " " + tok.ID,
		}
		if !slices.Equal(got, want) {
			t.Fatalf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if c := entries[3].Details["changed"]; c != "responsible.phone" {
			t.Errorf("org.updated names %q as changed, want responsible.phone", c)
		}
		for i, leaf := range leaves {
			for _, secretText := range []string{secret, phone, "13900000000", "13800000000"} {
				if strings.Contains(string(leaf), secretText) {
					t.Errorf("entry %d (%s) contains %q", i, entries[i].Action, secretText)
				}
			}
		}
	})
}

// TestReplaceTokenConcurrently: however many runs replace an account's token
// at once, exactly one token of that description stays valid, every other
// is revoked with an audit entry, and tokens of other descriptions stay. On
// PostgreSQL a replacement that loses the serialization race too often
// gives up as Unavailable ("busy, try again") and changes nothing.
func TestReplaceTokenConcurrently(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		svc, _ := newService(db)
		ctx := context.Background()
		issuer, err := svc.CreateOrg(ctx, newOrg(t, 1, org.KindIssuer))
		if err != nil {
			t.Fatal(err)
		}
		acc, err := svc.CreateAccount(ctx, org.NewAccount{Org: issuer.CreditCode, Name: "clerk", Roles: []authz.Role{authz.Issuer}})
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := svc.IssueToken(ctx, org.NewToken{AccountID: acc.ID, Description: "ci"})
		if err != nil {
			t.Fatal(err)
		}
		first, _, revoked, err := svc.ReplaceToken(ctx, org.NewToken{AccountID: acc.ID, Description: "demo"})
		if err != nil || revoked != 0 {
			t.Fatalf("first ReplaceToken: revoked %d, err %v", revoked, err)
		}
		before, _ := storetest.AuditEntries(t, db)

		const clients = 20
		secrets := make([]string, clients)
		counts := make([]int, clients)
		errs := make([]error, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				secrets[i], _, counts[i], errs[i] = svc.ReplaceToken(ctx, org.NewToken{AccountID: acc.ID, Description: "demo"})
			})
		}
		wg.Wait()
		replaced, revokedTotal, valid := 0, 0, 0
		for i, err := range errs {
			switch {
			case err == nil:
				replaced++
				revokedTotal += counts[i]
			case errors.Is(err, apperr.Unavailable):
			default:
				t.Fatalf("concurrent ReplaceToken: %v", err)
			}
		}
		for _, s := range append(secrets, first) {
			if s == "" {
				continue
			}
			if _, err := svc.Authenticate(ctx, s); err == nil {
				valid++
			}
		}
		if replaced == 0 || valid != 1 || revokedTotal != replaced {
			t.Fatalf("%d of %d replacements went through, %d demo tokens are valid and %d were revoked; want at least one, 1 and %d",
				replaced, clients, valid, revokedTotal, replaced)
		}
		if _, err := svc.Authenticate(ctx, other); err != nil {
			t.Fatalf("a token of another description was revoked: %v", err)
		}
		after, _ := storetest.AuditEntries(t, db)
		actions := map[string]int{}
		for _, e := range after[len(before):] {
			actions[e.Action]++
		}
		if len(after)-len(before) != 2*replaced || actions["token.revoked"] != replaced || actions["token.issued"] != replaced {
			t.Fatalf("audit entries %v, want %d token.revoked and %d token.issued", actions, replaced, replaced)
		}
	})
}
