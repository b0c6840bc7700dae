package use_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// messages is loaded once for the whole test binary.
var messages = sync.OnceValues(i18n.New)

// fixture is the service over a real store on a clock the test moves: the
// platform organization with two admins and an auditor, an issuer, two
// using units with staff each, the shipped business license type with an
// approved version, and a type with none.
type fixture struct {
	db               *store.DB
	p                *platform.Platform
	svc              *use.Service
	clock            *atomic.Int64 // unix microseconds
	platform, issuer string
	bank, hotel      string
	admin1, admin2   *authz.Actor
	auditor          *authz.Actor
	bankStaff        *authz.Actor
	hotelStaff       *authz.Actor
	issuerStaff      *authz.Actor
}

func (f fixture) now() time.Time { return time.UnixMicro(f.clock.Load()).UTC() }

// advance moves the clock on by d.
func (f fixture) advance(d time.Duration) { f.clock.Add(d.Microseconds()) }

func setup(t testing.TB, db *store.DB) fixture {
	t.Helper()
	ctx := context.Background()
	f := fixture{db: db, clock: &atomic.Int64{}}
	f.clock.Store(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC).UnixMicro())
	p, err := platform.New(db, platform.Options{Clock: f.now})
	if err != nil {
		t.Fatal(err)
	}
	code := func(n string) string {
		c, err := ids.NewCreditCode('1', '1', "610100", n)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	f.platform, f.issuer, f.bank, f.hotel = code("MB000001"), code("MB000002"), code("MB000003"), code("MB000004")
	for _, o := range []org.NewOrg{
		{CreditCode: f.platform, Name: "平台", Kinds: []org.Kind{org.KindPlatform}},
		{CreditCode: f.issuer, Name: "市场监督管理局", Kinds: []org.Kind{org.KindIssuer, org.KindSealUser}, Parent: f.platform},
		{CreditCode: f.bank, Name: "银行", Kinds: []org.Kind{org.KindUsingUnit}},
		{CreditCode: f.hotel, Name: "酒店", Kinds: []org.Kind{org.KindUsingUnit}},
	} {
		o.Region, o.Responsible = "610100", org.Responsible{Name: "张三", Phone: "13800000000"}
		if _, err := p.Orgs.CreateOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	actor := func(orgCode, name string, r authz.Role) *authz.Actor {
		a, err := p.Orgs.CreateAccount(ctx, org.NewAccount{Org: orgCode, Name: name, Roles: []authz.Role{r}})
		if err != nil {
			t.Fatal(err)
		}
		return &authz.Actor{AccountID: a.ID, Org: orgCode, Roles: a.Roles}
	}
	f.admin1, f.admin2 = actor(f.platform, "admin1", authz.PlatformAdmin), actor(f.platform, "admin2", authz.PlatformAdmin)
	f.auditor = actor(f.platform, "auditor", authz.Auditor)
	f.bankStaff, f.hotelStaff = actor(f.bank, "bank", authz.UsingUnit), actor(f.hotel, "hotel", authz.UsingUnit)
	f.issuerStaff = actor(f.issuer, "issuer", authz.Issuer)

	defs, err := catalog.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if d.Type.Code != "BL0001" {
			continue
		}
		if _, err := p.Catalog.DefineType(ctx, nil, d.Type); err != nil {
			t.Fatal(err)
		}
		v, err := p.Catalog.ProposeVersion(ctx, nil, d.Type.Code, d.Template)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Catalog.Approve(ctx, f.admin1, d.Type.Code, v.Number, ""); err != nil {
			t.Fatal(err)
		}
		// A type without an approved version: no matter may need it yet.
		d.Type.Code = "TP0001"
		if _, err := p.Catalog.DefineType(ctx, nil, d.Type); err != nil {
			t.Fatal(err)
		}
	}
	f.svc, f.p = p.Use, p
	return f
}

// matter is a valid matter of the bank needing two business license fields.
func matter(code string) use.NewMatter {
	return use.NewMatter{Code: code, Content: use.Content{Name: "开立单位银行结算账户", LegalBasis: "《人民币银行结算账户管理办法》第十七条",
		Needs: []use.Need{{TypeCode: "BL0001", Fields: []string{"credit_code", "name"}}}}}
}

// wantErr asserts err has kind and exactly the field errors want ("field:
// rule", any order), each with a message for users.
func wantErr(t testing.TB, err error, kind apperr.Kind, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s %q", kind, want)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("error %v is not of kind %s", err, kind)
	}
	var e *apperr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *apperr.Error", err, err)
	}
	cat, cerr := messages()
	if cerr != nil {
		t.Fatal(cerr)
	}
	var got []string
	for _, fe := range e.Fields {
		if fe.Field == "" || fe.Rule == "" || fe.Detail == "" {
			t.Errorf("field error %+v lacks a field, rule or detail", fe)
		}
		if !cat.Has("rule." + fe.Rule) {
			t.Errorf("rule %q of field %s has no message in internal/i18n/locales", fe.Rule, fe.Field)
		}
		got = append(got, fe.Field+": "+fe.Rule)
	}
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("field errors = %q, want %q (error %v)", got, want, err)
	}
}

// useActions returns the audit actions of this package, in log order.
func useActions(t *testing.T, db *store.DB) []string {
	t.Helper()
	entries, _ := storetest.AuditEntries(t, db)
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "use.") {
			out = append(out, e.Action)
		}
	}
	return out
}
