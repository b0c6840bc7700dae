package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/holder"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/internal/use"
	"github.com/zhengzhao/zhengzhao/verify"
)

// grantUnit makes a using unit with an account of the using-unit role and
// the approved matter HUJI needing license type typ, and returns the
// unit's credit code and the account's token.
func (le licenseEnv) grantUnit(t *testing.T, typ string) (string, string) {
	t.Helper()
	ctx := context.Background()
	u, err := le.svc.CreateOrg(ctx, org.NewOrg{CreditCode: code(t, 80), Name: "用证单位", Region: "610100", Kinds: []org.Kind{org.KindUsingUnit},
		Parent: le.platform, Responsible: org.Responsible{Name: "钱七", Phone: "13500000000"}})
	if err != nil {
		t.Fatal(err)
	}
	account := func(home, name string, r authz.Role) *authz.Actor {
		acc, err := le.svc.CreateAccount(ctx, org.NewAccount{Org: home, Name: name, Roles: []authz.Role{r}})
		if err != nil {
			t.Fatal(err)
		}
		return &authz.Actor{AccountID: acc.ID, Org: home, Roles: acc.Roles}
	}
	staff, reviewer := account(u.CreditCode, "grant-unit", authz.UsingUnit), account(le.platform, "grant-reviewer", authz.PlatformAdmin)
	if _, err := le.p.Use.CreateMatter(ctx, staff, use.NewMatter{Code: "HUJI", Content: use.Content{Name: "户籍迁移", LegalBasis: "依据",
		Needs: []use.Need{{TypeCode: typ, Fields: []string{"name"}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := le.p.Use.Approve(ctx, reviewer, u.CreditCode, "HUJI", 1, ""); err != nil {
		t.Fatal(err)
	}
	secret, _, err := le.svc.IssueToken(ctx, org.NewToken{AccountID: staff.AccountID})
	if err != nil {
		t.Fatal(err)
	}
	return u.CreditCode, secret
}

// TestHolderGrantsOverTheAPI: a holder lists a using unit's approved
// matters and grants the unit the use of its license for one (an
// Idempotency-Key replays the answer), lists and withdraws the grant
// (twice: the second changes nothing); the unit lists the grants made to
// its organization; another holder's grant is 404.
func TestHolderGrantsOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := newLicenseEnv(t, db)
		l, _ := le.issued(t)
		unit, unitToken := le.grantUnit(t, l.Type)
		session := le.holderSession(t)
		var ms api.Page[api.UnitMatter]
		le.do(http.MethodGet, "/api/v1/me/units/"+unit+"/matters", session, "").want(t, http.StatusOK, "unit matters").decode(t, &ms)
		if len(ms.Items) != 1 || ms.Items[0].Code != "HUJI" || ms.Items[0].Name != "户籍迁移" || strings.Join(ms.Items[0].Types, ",") != l.Type {
			t.Fatalf("unit matters %+v", ms.Items)
		}
		le.do(http.MethodGet, "/api/v1/me/units/"+le.orgA+"/matters", session, "").want(t, http.StatusNotFound, "an issuer's matters")
		le.do(http.MethodGet, "/api/v1/me/units/"+unit+"/matters", le.issuer, "").want(t, http.StatusForbidden, "staff read unit matters")
		until := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
		body, _ := json.Marshal(api.NewAuthorization{LicenseID: l.ID, Org: unit, Matter: "HUJI", ValidUntil: until, Fields: []string{"name"}})
		var g api.Authorization
		first := le.do(http.MethodPost, "/api/v1/me/authorizations", session, string(body), "Idempotency-Key", "grant-1").
			want(t, http.StatusCreated, "grant")
		first.decode(t, &g)
		if g.State != "active" || g.LicenseID != l.ID || g.Org != unit || !g.ValidUntil.Equal(until) || g.Issuer != le.issuerOrg {
			t.Fatalf("grant %+v", g)
		}
		again := le.do(http.MethodPost, "/api/v1/me/authorizations", session, string(body), "Idempotency-Key", "grant-1").
			want(t, http.StatusCreated, "grant again")
		if again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(first.body) {
			t.Errorf("a retried grant was not replayed: %s", again.body)
		}
		// Bad input names the field and the rule.
		for _, c := range []struct {
			name, field, rule string
			n                 api.NewAuthorization
		}{
			{"past", "valid_until", "future", api.NewAuthorization{LicenseID: l.ID, Org: unit, Matter: "HUJI", ValidUntil: time.Now().Add(-time.Hour)}},
			{"issuer", "org", "using-unit-kind", api.NewAuthorization{LicenseID: l.ID, Org: le.orgA, Matter: "HUJI", ValidUntil: until}},
			{"free text", "matter", "approved", api.NewAuthorization{LicenseID: l.ID, Org: unit, Matter: "户籍迁移", ValidUntil: until}},
		} {
			bad, _ := json.Marshal(c.n)
			if pr := le.do(http.MethodPost, "/api/v1/me/authorizations", session, string(bad)).want(t, http.StatusUnprocessableEntity, c.name).
				problem(t); !namesField(pr, c.field, c.rule) {
				t.Errorf("%s: %+v", c.name, pr)
			}
		}
		// Staff do not grant; holders do not read a unit's grants.
		le.do(http.MethodPost, "/api/v1/me/authorizations", le.issuer, string(body)).want(t, http.StatusForbidden, "staff grant")
		le.do(http.MethodGet, "/api/v1/authorizations", session, "").want(t, http.StatusForbidden, "holder reads the unit's grants")
		le.do(http.MethodGet, "/api/v1/authorizations", le.issuer, "").want(t, http.StatusForbidden, "issuer reads the unit's grants")

		var p api.Page[api.Authorization]
		le.do(http.MethodGet, "/api/v1/me/authorizations?state=active&license="+l.ID, session, "").want(t, http.StatusOK, "mine").decode(t, &p)
		if len(p.Items) != 1 || p.Items[0].ID != g.ID {
			t.Fatalf("my grants %+v", p.Items)
		}
		le.do(http.MethodGet, "/api/v1/authorizations", unitToken, "").want(t, http.StatusOK, "the unit's").decode(t, &p)
		if len(p.Items) != 1 || p.Items[0].ID != g.ID || strings.Join(p.Items[0].Fields, ",") != "name" {
			t.Fatalf("the unit's grants %+v", p.Items)
		}

		// Another holder does not see or withdraw it.
		ctx := context.Background()
		h2, err := le.p.Holders.Ensure(ctx, holder.Claims{Kind: catalog.HolderPerson, Identifier: "110105198001010016", Name: "李四"})
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := le.p.Holders.SignIn(ctx, h2, "demo", "")
		if err != nil {
			t.Fatal(err)
		}
		le.do(http.MethodPost, "/api/v1/me/authorizations/"+g.ID+"/withdraw", other, "").want(t, http.StatusNotFound, "another's withdrawal")
		le.do(http.MethodPost, "/api/v1/me/authorizations", other, string(body)).want(t, http.StatusNotFound, "another's license")

		var w api.Authorization
		le.do(http.MethodPost, "/api/v1/me/authorizations/"+g.ID+"/withdraw", session, "").want(t, http.StatusOK, "withdraw").decode(t, &w)
		if w.State != "withdrawn" || w.WithdrawnAt == nil {
			t.Fatalf("withdrawn %+v", w)
		}
		le.do(http.MethodPost, "/api/v1/me/authorizations/"+g.ID+"/withdraw", session, "").want(t, http.StatusOK, "withdraw again").decode(t, &w)
		if w.State != "withdrawn" {
			t.Fatalf("withdrawn again %+v", w)
		}
		le.do(http.MethodGet, "/api/v1/authorizations?state=active", unitToken, "").want(t, http.StatusOK, "active").decode(t, &p)
		if len(p.Items) != 0 {
			t.Errorf("a withdrawn grant listed active: %+v", p.Items)
		}
	})
}

// TestLossReportOverTheAPI: the holder reports its license lost; a second
// report is 409; the license no longer verifies online, by a QR
// presentation made before, or with a fresh trust bundle; the holder asks
// for a reissue once, the issuer lists the request and its reissue closes
// it.
func TestLossReportOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		le := newLicenseEnv(t, db)
		l, doc := le.issued(t)
		p := le.presented(t, l.ID)
		session := le.holderSession(t)
		path := "/api/v1/me/licenses/" + l.ID

		le.do(http.MethodPost, path+"/reissue-request", session, `{}`).want(t, http.StatusConflict, "reissue of an active license")
		var lost api.License
		le.do(http.MethodPost, path+"/loss-report", session, `{"reason":"钱包丢失"}`).want(t, http.StatusOK, "loss report").decode(t, &lost)
		if lost.State != "reported-lost" {
			t.Fatalf("after the loss report: %+v", lost)
		}
		if pr := le.do(http.MethodPost, path+"/loss-report", session, `{}`).want(t, http.StatusConflict, "second report").problem(t); !namesField(pr,
			"operation", "transition") {
			t.Errorf("second report: %+v", pr)
		}
		var hist api.Page[api.LicenseTransition]
		le.do(http.MethodGet, "/api/v1/licenses/"+l.ID+"/transitions", le.issuer, "").want(t, http.StatusOK, "history").decode(t, &hist)
		if len(hist.Items) != 1 || hist.Items[0].Operation != "report-lost" || !strings.HasPrefix(hist.Items[0].Actor, "hol_") {
			t.Fatalf("history %+v", hist.Items)
		}

		// It no longer verifies: online, by presentation, offline.
		if c := failed(t, le.verifyOnline(t, le.issuer, doc), verify.CheckStatus); !strings.Contains(c.Reason, "suspended") {
			t.Errorf("online status check %+v", c)
		}
		v := le.redeem(t, le.tokens[authz.UsingUnit], p.Payload, "户籍迁移")
		failed(t, v.Verdict, verify.CheckStatus)
		var root struct {
			Fingerprint string `json:"fingerprint"`
		}
		le.do(http.MethodGet, "/api/v1/ca/root", le.issuer, "").want(t, http.StatusOK, "platform root").decode(t, &root)
		failed(t, verify.License(ctx, doc, le.freshBundle(t, root.Fingerprint), time.Now()), verify.CheckStatus)

		var r api.ReissueRequest
		le.do(http.MethodPost, path+"/reissue-request", session, `{"reason":"请补办"}`).want(t, http.StatusCreated, "reissue request").decode(t, &r)
		if pr := le.do(http.MethodPost, path+"/reissue-request", session, `{}`).want(t, http.StatusConflict, "second request").problem(t); !namesField(pr,
			"license_id", "open-request") {
			t.Errorf("second request: %+v", pr)
		}
		var rs api.Page[api.ReissueRequest]
		le.do(http.MethodGet, "/api/v1/reissue-requests?state=open", le.issuer, "").want(t, http.StatusOK, "open requests").decode(t, &rs)
		if len(rs.Items) != 1 || rs.Items[0].ID != r.ID || rs.Items[0].Reason != "请补办" {
			t.Fatalf("open requests %+v", rs.Items)
		}
		le.do(http.MethodGet, "/api/v1/reissue-requests", le.otherIssuer, "").want(t, http.StatusOK, "another issuer's").decode(t, &rs)
		if len(rs.Items) != 0 {
			t.Errorf("another issuer sees %+v", rs.Items)
		}
		le.do(http.MethodGet, "/api/v1/reissue-requests", session, "").want(t, http.StatusForbidden, "a holder lists requests")
		le.do(http.MethodPost, "/api/v1/licenses/"+l.ID+"/transitions", le.issuer, `{"operation":"reissue","reason":"补办"}`).
			want(t, http.StatusOK, "reissue")
		le.do(http.MethodGet, "/api/v1/reissue-requests", le.issuer, "").want(t, http.StatusOK, "requests").decode(t, &rs)
		if len(rs.Items) != 1 || rs.Items[0].State != "done" || rs.Items[0].ClosedAt == nil {
			t.Fatalf("after the reissue %+v", rs.Items)
		}
		le.do(http.MethodPost, "/api/v1/reissue-requests/"+r.ID+"/refuse", le.issuer, `{"reason":"不予补办"}`).
			want(t, http.StatusConflict, "refuse a closed request")
		le.do(http.MethodGet, path+"/reissue-requests", session, "").want(t, http.StatusOK, "my requests").decode(t, &rs)
		if len(rs.Items) != 1 || rs.Items[0].State != "done" {
			t.Errorf("my requests %+v", rs.Items)
		}
	})
}
