package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// fixture is a catalog over a real store: the platform organization with
// two platform admins, two issuers with an issuer account each, and a
// using unit.
type fixture struct {
	db                 *store.DB
	svc                *catalog.Service
	platform, orgA     string
	orgB, user         string
	admin1, admin2     *authz.Actor // platform admins
	issuerA, issuerB   *authz.Actor
	auditor, orgAAdmin *authz.Actor
}

func setup(t *testing.T, db *store.DB) fixture {
	t.Helper()
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC) }
	p, err := platform.New(db, platform.Options{Clock: now})
	if err != nil {
		t.Fatal(err)
	}
	orgs := p.Orgs
	code := func(n string) string {
		c, err := ids.NewCreditCode('1', '1', "610100", n)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	f := fixture{db: db, platform: code("MB000001"), orgA: code("MB000002"), orgB: code("MB000003"), user: code("MB000004")}
	for _, o := range []org.NewOrg{
		{CreditCode: f.platform, Name: "平台", Kinds: []org.Kind{org.KindPlatform}},
		{CreditCode: f.orgA, Name: "市场监督管理局", Kinds: []org.Kind{org.KindIssuer}},
		{CreditCode: f.orgB, Name: "公安局", Kinds: []org.Kind{org.KindIssuer}},
		{CreditCode: f.user, Name: "银行", Kinds: []org.Kind{org.KindUsingUnit}},
	} {
		o.Region, o.Responsible = "610100", org.Responsible{Name: "张三", Phone: "13800000000"}
		if _, err := orgs.CreateOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	actor := func(orgCode, name string, r authz.Role) *authz.Actor {
		a, err := orgs.CreateAccount(ctx, org.NewAccount{Org: orgCode, Name: name, Roles: []authz.Role{r}})
		if err != nil {
			t.Fatal(err)
		}
		return &authz.Actor{AccountID: a.ID, Org: orgCode, Roles: a.Roles}
	}
	f.admin1, f.admin2 = actor(f.platform, "admin1", authz.PlatformAdmin), actor(f.platform, "admin2", authz.PlatformAdmin)
	f.auditor = actor(f.platform, "auditor", authz.Auditor)
	f.issuerA, f.issuerB = actor(f.orgA, "issuer-a", authz.Issuer), actor(f.orgB, "issuer-b", authz.Issuer)
	f.orgAAdmin = actor(f.orgA, "admin-a", authz.OrgAdmin)
	f.svc = p.Catalog
	return f
}

// ownType is a valid type that only org issues.
func ownType(code, issuer string) catalog.Type {
	return catalog.Type{Code: code, Name: catalog.Label{ZH: "测试许可证", EN: "Test permit"}, Issuers: []string{issuer},
		HolderKind: catalog.HolderOrganization, Level: catalog.LevelMunicipal, Public: catalog.PublicShared,
		CollectionStart: "2020-01-01", Validity: catalog.ValidityRule{Kind: catalog.ValidityFixed, Years: 5},
		Numbering: "{region}{year}{seq:6}"}
}

func template(keys ...string) catalog.Template {
	var t catalog.Template
	for _, k := range keys {
		t.Fields = append(t.Fields, field(k))
	}
	return t
}

// kindOf returns the apperr kind of err, "" for nil.
func kindOf(err error) apperr.Kind {
	var e *apperr.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if err != nil {
		return "other: " + apperr.Kind(err.Error())
	}
	return ""
}

// catalogActions returns the audit actions about the catalog, in log order.
func catalogActions(t *testing.T, db *store.DB) []string {
	t.Helper()
	entries, _ := storetest.AuditEntries(t, db)
	var out []string
	for _, e := range entries {
		if len(e.Action) > 8 && e.Action[:8] == "catalog." {
			out = append(out, e.Action+" "+e.Subject+" by "+e.Actor)
		}
	}
	return out
}

// TestReviewFlow defines types, proposes versions and reviews them as each
// role may, and checks every refusal: who may define which type, who
// proposes versions of whose type, that only a platform admin other than
// the author reviews, that decisions happen once, and that only an
// approved version is usable. Refused calls write nothing.
func TestReviewFlow(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		ctx := context.Background()
		anyType := ownType("TP0001", f.orgA)
		anyType.Issuers, anyType.AnyIssuer = nil, true

		defines := []struct {
			name  string
			actor *authz.Actor
			t     catalog.Type
			want  apperr.Kind
		}{
			{"issuer, a type of another organization", f.issuerA, ownType("TP0002", f.orgB), apperr.Forbidden},
			{"issuer, a type open to any issuer", f.issuerA, anyType, apperr.Forbidden},
			{"issuer, its own and another", f.issuerA, func() catalog.Type { x := ownType("TP0003", f.orgA); x.Issuers = append(x.Issuers, f.orgB); return x }(), apperr.Forbidden},
			{"org admin", f.orgAAdmin, ownType("TP0004", f.orgA), apperr.Forbidden},
			{"auditor", f.auditor, ownType("TP0005", f.orgA), apperr.Forbidden},
			{"platform admin, an issuer that is not one", f.admin1, ownType("TP0006", f.user), apperr.Invalid},
			{"invalid type", f.admin1, ownType("zz", f.orgA), apperr.Invalid},
			{"issuer, its own type", f.issuerA, ownType("TP0010", f.orgA), ""},
			{"platform admin, any issuer", f.admin1, anyType, ""},
			{"the operator on the host", nil, ownType("TP0011", f.orgB), ""},
			{"a code taken", f.admin1, ownType("TP0010", f.orgB), apperr.Conflict},
		}
		for _, c := range defines {
			_, err := f.svc.DefineType(ctx, c.actor, c.t)
			if got := kindOf(err); got != c.want {
				t.Errorf("define, %s: %q (%v), want %q", c.name, got, err, c.want)
			}
		}
		p, err := f.svc.ListTypes(ctx, catalog.TypeFilter{}, "")
		if err != nil {
			t.Fatal(err)
		}
		var codes []string
		for _, e := range p.Items {
			codes = append(codes, e.Code+"/"+e.Owner[8:16])
		}
		if want := []string{"TP0001/MB000001", "TP0010/MB000002", "TP0011/MB000001"}; !slices.Equal(codes, want) {
			t.Fatalf("types %q, want %q (type/owner)", codes, want)
		}

		proposes := []struct {
			name  string
			actor *authz.Actor
			code  string
			tpl   catalog.Template
			want  apperr.Kind
		}{
			{"issuer, another organization's type", f.issuerB, "TP0010", template("name"), apperr.Forbidden},
			{"issuer, a platform type", f.issuerA, "TP0001", template("name"), apperr.Forbidden},
			{"unknown type", f.admin1, "TP9999", template("name"), apperr.NotFound},
			{"invalid template", f.issuerA, "TP0010", template("Name"), apperr.Invalid},
			{"issuer, its own type", f.issuerA, "TP0010", template("name"), ""},
			{"issuer, its own type again", f.issuerA, "TP0010", template("name", "address"), ""},
			{"platform admin, its type", f.admin1, "TP0001", template("name"), ""},
			{"platform admin, an issuer's type", f.admin1, "TP0010", template("name", "scope"), ""},
		}
		for _, c := range proposes {
			_, err := f.svc.ProposeVersion(ctx, c.actor, c.code, c.tpl)
			if got := kindOf(err); got != c.want {
				t.Errorf("propose, %s: %q (%v), want %q", c.name, got, err, c.want)
			}
		}
		vs, err := f.svc.ListVersions(ctx, catalog.VersionFilter{TypeCode: "tp0010"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(vs.Items) != 3 || vs.Items[0].Number != 1 || vs.Items[2].Number != 3 || vs.Items[2].Author != f.admin1.AccountID {
			t.Fatalf("versions of TP0010: %+v", vs.Items)
		}
		for _, v := range vs.Items {
			if v.State != catalog.Pending || len(v.Events) != 1 || v.Events[0].Action != catalog.Submit {
				t.Fatalf("proposed version %d: state %s, events %+v", v.Number, v.State, v.Events)
			}
		}
		if _, err := f.svc.Usable(ctx, "TP0010", 1); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("a pending version is usable: %v", err)
		}
		if _, err := f.svc.Latest(ctx, "TP0010"); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("a type without an approved version has a latest: %v", err)
		}

		reviews := []struct {
			name    string
			actor   *authz.Actor
			number  int
			approve bool
			reason  string
			want    apperr.Kind
		}{
			{"issuer approves its own", f.issuerA, 1, true, "", apperr.Forbidden},
			{"issuer of another org", f.issuerB, 1, true, "", apperr.Forbidden},
			{"auditor", f.auditor, 1, true, "", apperr.Forbidden},
			{"author approves", f.admin1, 3, true, "", apperr.Forbidden},
			{"reject without reason", f.admin2, 2, false, " ", apperr.Invalid},
			{"unknown version", f.admin1, 9, true, "", apperr.NotFound},
			{"approve", f.admin1, 1, true, "符合要求", ""},
			{"approve again", f.admin2, 1, true, "", apperr.Conflict},
			{"reject what is approved", f.admin2, 1, false, "晚了", apperr.Conflict},
			{"reject", f.admin1, 2, false, "经营范围缺失", ""},
			{"approve what is rejected", f.admin2, 2, true, "", apperr.Conflict},
			{"the operator approves an admin's version", nil, 3, true, "", ""},
		}
		for _, c := range reviews {
			var err error
			if c.approve {
				_, err = f.svc.Approve(ctx, c.actor, "TP0010", c.number, c.reason)
			} else {
				_, err = f.svc.Reject(ctx, c.actor, "TP0010", c.number, c.reason)
			}
			if got := kindOf(err); got != c.want {
				t.Errorf("review, %s: %q (%v), want %q", c.name, got, err, c.want)
			}
		}
		v2, err := f.svc.GetVersion(ctx, "TP0010", 2)
		if err != nil {
			t.Fatal(err)
		}
		if v2.State != catalog.Rejected || len(v2.Events) != 2 || v2.Events[1].Reason != "经营范围缺失" || v2.Events[1].By != f.admin1.AccountID {
			t.Fatalf("rejected version: %+v", v2)
		}
		if _, err := f.svc.Usable(ctx, "TP0010", 2); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("a rejected version is usable: %v", err)
		}
		if v, err := f.svc.Usable(ctx, "TP0010", 1); err != nil || v.State != catalog.Approved || len(v.Template.Fields) != 1 {
			t.Fatalf("approved version 1: %+v, %v", v, err)
		}
		if v, err := f.svc.Latest(ctx, "TP0010"); err != nil || v.Number != 3 {
			t.Fatalf("latest approved: %+v, %v; want version 3", v, err)
		}
		e, err := f.svc.GetType(ctx, "TP0010")
		if err != nil || e.Approved != 3 || !slices.Equal(e.Issuers, []string{f.orgA}) || e.Validity.Years != 5 || e.CreatedBy != f.issuerA.AccountID {
			t.Fatalf("type TP0010: %+v, %v", e, err)
		}

		want := []string{
			"catalog.type-created TP0001 by " + f.admin1.AccountID,
			"catalog.type-created TP0010 by " + f.issuerA.AccountID,
			"catalog.type-created TP0011 by " + auditlog.Operator,
			"catalog.version-proposed TP0010 by " + f.issuerA.AccountID,
			"catalog.version-proposed TP0010 by " + f.issuerA.AccountID,
			"catalog.version-proposed TP0001 by " + f.admin1.AccountID,
			"catalog.version-proposed TP0010 by " + f.admin1.AccountID,
			"catalog.version-approved TP0010 by " + f.admin1.AccountID,
			"catalog.version-rejected TP0010 by " + f.admin1.AccountID,
			"catalog.version-approved TP0010 by " + auditlog.Operator,
		}
		got := catalogActions(t, db)
		slices.Sort(got[:3]) // the definitions by code; the log orders them by time, which is one instant here
		if !slices.Equal(got, want) {
			t.Fatalf("audit entries:\n%q\nwant\n%q", got, want)
		}
	})
}

// TestListFiltersAndPages checks the filters and pagination of types and
// versions on both stores.
func TestListFiltersAndPages(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		ctx := context.Background()
		for i := range 5 {
			issuer := f.orgA
			if i%2 == 1 {
				issuer = f.orgB
			}
			x := ownType(fmt.Sprintf("TP010%d", i), issuer)
			if i == 4 {
				x.Issuers, x.AnyIssuer, x.Level = nil, true, catalog.LevelNational
			}
			if _, err := f.svc.DefineType(ctx, f.admin1, x); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.ProposeVersion(ctx, f.admin1, x.Code, template("name")); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.svc.Approve(ctx, f.admin2, "TP0101", 1, ""); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if _, err := f.svc.ProposeVersion(ctx, f.admin1, "TP0100", template("name", fmt.Sprintf("f%d", i))); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.svc.Approve(ctx, f.admin2, "TP0100", 3, ""); err != nil {
			t.Fatal(err)
		}
		codes := func(fl catalog.TypeFilter) []string {
			var out []string
			cursor := ""
			for {
				p, err := f.svc.ListTypes(ctx, fl, cursor)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range p.Items {
					out = append(out, e.Code)
				}
				if p.Next == "" {
					return out
				}
				cursor = p.Next
			}
		}
		cases := []struct {
			name string
			f    catalog.TypeFilter
			want []string
		}{
			{"all, two a page", catalog.TypeFilter{Limit: 2}, []string{"TP0100", "TP0101", "TP0102", "TP0103", "TP0104"}},
			{"issuer A", catalog.TypeFilter{Issuer: f.orgA}, []string{"TP0100", "TP0102", "TP0104"}},
			{"issuer B, one a page", catalog.TypeFilter{Issuer: f.orgB, Limit: 1}, []string{"TP0101", "TP0103", "TP0104"}},
			{"national", catalog.TypeFilter{Level: catalog.LevelNational}, []string{"TP0104"}},
			{"usable", catalog.TypeFilter{Usable: true}, []string{"TP0100", "TP0101"}},
			{"owned by A", catalog.TypeFilter{Owner: f.orgA}, nil},
			{"owned by the platform, held by persons", catalog.TypeFilter{Owner: f.platform, HolderKind: catalog.HolderPerson}, nil},
		}
		for _, c := range cases {
			if got := codes(c.f); !slices.Equal(got, c.want) {
				t.Errorf("%s: %q, want %q", c.name, got, c.want)
			}
		}
		var numbers []int
		cursor := ""
		for {
			p, err := f.svc.ListVersions(ctx, catalog.VersionFilter{TypeCode: "TP0100", Limit: 3}, cursor)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range p.Items {
				numbers = append(numbers, v.Number)
			}
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		if !slices.Equal(numbers, []int{1, 2, 3, 4}) {
			t.Fatalf("versions of TP0100 three a page: %v", numbers)
		}
		p, err := f.svc.ListVersions(ctx, catalog.VersionFilter{TypeCode: "TP0100", State: catalog.Approved}, "")
		if err != nil || len(p.Items) != 1 || p.Items[0].Number != 3 {
			t.Fatalf("approved versions of TP0100: %+v, %v", p.Items, err)
		}
		if _, err := f.svc.ListVersions(ctx, catalog.VersionFilter{TypeCode: "TP0100"}, "eA"); !errors.Is(err, apperr.Invalid) {
			t.Fatalf("versions after the cursor of key x: %v, want invalid", err)
		}
		if _, err := f.svc.ListVersions(ctx, catalog.VersionFilter{TypeCode: "TP9999"}, ""); !errors.Is(err, apperr.NotFound) {
			t.Fatalf("versions of an unknown type: %v", err)
		}
		if e, err := f.svc.GetType(ctx, "TP0100"); err != nil || e.Approved != 3 {
			t.Fatalf("type TP0100 approved version: %+v, %v", e, err)
		}
	})
}

// TestSimultaneousApprovals sends 20 approvals of one pending version at
// once, each by a different platform admin: exactly one approves, every
// other answers Conflict, and the log holds one approval.
func TestSimultaneousApprovals(t *testing.T) {
	const racers = 20
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		ctx := context.Background()
		if _, err := f.svc.DefineType(ctx, f.issuerA, ownType("TP0200", f.orgA)); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ProposeVersion(ctx, f.issuerA, "TP0200", template("name")); err != nil {
			t.Fatal(err)
		}
		admins := make([]*authz.Actor, racers)
		for i := range admins {
			admins[i] = &authz.Actor{AccountID: fmt.Sprintf("acc_racer%02d", i), Org: f.platform, Roles: []authz.Role{authz.PlatformAdmin}}
		}
		var mu sync.Mutex
		kinds := map[apperr.Kind]int{}
		storetest.Race(racers, func(i int) {
			_, err := f.svc.Approve(ctx, admins[i], "TP0200", 1, "")
			mu.Lock()
			defer mu.Unlock()
			kinds[kindOf(err)]++
		})
		if kinds[""] != 1 || kinds[apperr.Conflict] != racers-1 {
			t.Fatalf("outcomes %v, want one success and %d conflicts", kinds, racers-1)
		}
		n := 0
		for _, a := range catalogActions(t, db) {
			if len(a) > 24 && a[:24] == "catalog.version-approved" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d approvals in the audit log, want 1", n)
		}
	})
}
