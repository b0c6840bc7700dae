package server_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestUseOverTheAPI drives matters and type grants end to end: a bank's
// staff list a matter, bad input and another unit's staff are refused
// with their field and rule, platform admins review it (twenty
// simultaneous approvals through two processes: one 200, nineteen 409),
// a change waits for review while the approved version stays usable, and
// the admin grants and withdraws the business license type, which the
// bank reads and the hotel does not. Writes are safe to retry with an
// Idempotency-Key.
func TestUseOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		bank, bankToken := e.usingUnit(10, "bank")
		_, hotelToken := e.usingUnit(11, "hotel")
		admin, auditor := e.tokens[authz.PlatformAdmin], e.tokens[authz.Auditor]
		e.approveShipped(t, "BL0001")

		matters := "/api/v1/use/matters"
		m := api.NewMatter{Code: "KH-001", MatterContent: api.MatterContent{Name: "开立单位银行结算账户", LegalBasis: "《人民币银行结算账户管理办法》第十七条",
			Needs: []api.MatterNeed{{Type: "BL0001", Fields: []string{"credit_code", "name"}}}}}
		bad := m
		bad.Code, bad.Name = "kh 1", ""
		p := e.do(http.MethodPost, matters, bankToken, jsonBody(t, bad)).want(t, http.StatusUnprocessableEntity, "a bad matter").problem(t)
		if !namesField(p, "code", "matter-code") || !namesField(p, "name", "required") {
			t.Fatalf("refusal names %+v, want code/matter-code and name/required", p.Errors)
		}
		bad = m
		bad.Needs = []api.MatterNeed{{Type: "BL0001", Fields: []string{"name", "blood_type"}}}
		p = e.do(http.MethodPost, matters, bankToken, jsonBody(t, bad)).want(t, http.StatusUnprocessableEntity, "a field not in the template").problem(t)
		if !namesField(p, "needs[0].fields[1]", "template-field") {
			t.Fatalf("refusal names %+v, want needs[0].fields[1]/template-field", p.Errors)
		}
		e.do(http.MethodPost, matters, admin, jsonBody(t, m)).want(t, http.StatusForbidden, "a platform admin lists a matter")
		e.do(http.MethodPost, matters, e.tokens[authz.Issuer], jsonBody(t, m)).want(t, http.StatusForbidden, "an issuer lists a matter")

		var v api.MatterVersion
		first := e.do(http.MethodPost, matters, bankToken, jsonBody(t, m), "Idempotency-Key", "matter-1").want(t, http.StatusCreated, "list a matter")
		first.decode(t, &v)
		again := e.do(http.MethodPost, matters, bankToken, jsonBody(t, m), "Idempotency-Key", "matter-1").want(t, http.StatusCreated, "list, retried")
		if string(again.body) != string(first.body) {
			t.Fatalf("retried listing answered %s, first %s", again.body, first.body)
		}
		if v.Org != bank || v.Number != 1 || v.State != "pending" || v.DecidedAt != nil {
			t.Fatalf("listed %+v", v)
		}
		p = e.do(http.MethodPost, matters, bankToken, jsonBody(t, m)).want(t, http.StatusConflict, "the same code again").problem(t)
		if !namesField(p, "code", "unique") {
			t.Fatalf("refusal names %+v, want code/unique", p.Errors)
		}
		one := fmt.Sprintf("%s/%s/KH-001", matters, bank)
		e.do(http.MethodGet, one, hotelToken, "").want(t, http.StatusForbidden, "another unit reads the matter")
		e.do(http.MethodPost, one+"/versions", hotelToken, jsonBody(t, m.MatterContent)).want(t, http.StatusForbidden, "another unit changes the matter")
		e.do(http.MethodGet, fmt.Sprintf("%s/%s/KH-404", matters, bank), bankToken, "").want(t, http.StatusNotFound, "an unknown matter")

		var pending api.Page[api.MatterVersion]
		e.do(http.MethodGet, "/api/v1/use/matter-versions?state=pending", admin, "").want(t, http.StatusOK, "pending versions").decode(t, &pending)
		if len(pending.Items) != 1 || pending.Items[0].Code != "KH-001" {
			t.Fatalf("pending versions %+v", pending.Items)
		}
		e.do(http.MethodGet, "/api/v1/use/matter-versions?state=pending", hotelToken, "").want(t, http.StatusOK, "the hotel's pending").decode(t, &pending)
		if len(pending.Items) != 0 {
			t.Fatalf("the hotel sees %+v", pending.Items)
		}

		e.do(http.MethodPost, one+"/versions/1/approve", bankToken, `{}`).want(t, http.StatusForbidden, "the unit approves its own matter")
		p = e.do(http.MethodPost, one+"/versions/1/refuse", admin, `{}`).want(t, http.StatusUnprocessableEntity, "refuse without a reason").problem(t)
		if !namesField(p, "reason", "required") {
			t.Fatalf("refusal names %+v, want reason/required", p.Errors)
		}
		second := newProcess(t, db, time.Now)
		answers := postConcurrently(20, []http.Handler{e.h, second.h}, one+"/versions/1/approve", admin, []byte(`{"reason":"依据充分"}`))
		statuses := map[int]int{}
		for _, r := range answers {
			statuses[r.status]++
		}
		if statuses[http.StatusOK] != 1 || statuses[http.StatusConflict] != 19 {
			t.Fatalf("twenty approvals: %v, want one 200 and nineteen 409", statuses)
		}

		// A change waits for review; the approved version stays usable.
		change := m.MatterContent
		change.Needs = []api.MatterNeed{{Type: "BL0001", Fields: []string{"credit_code", "name", "domicile"}}}
		e.do(http.MethodPost, one+"/versions", bankToken, jsonBody(t, change)).want(t, http.StatusCreated, "change").decode(t, &v)
		if v.Number != 2 || v.State != "pending" {
			t.Fatalf("change %+v", v)
		}
		var got api.Matter
		e.do(http.MethodGet, one, auditor, "").want(t, http.StatusOK, "the auditor reads the matter").decode(t, &got)
		if got.LatestVersion != 2 || got.ApprovedVersion != 1 {
			t.Fatalf("matter %+v, want latest 2 and approved 1", got)
		}
		var versions api.Page[api.MatterVersion]
		e.do(http.MethodGet, one+"/versions?limit=1", bankToken, "").want(t, http.StatusOK, "versions").decode(t, &versions)
		if len(versions.Items) != 1 || versions.Items[0].State != "approved" || versions.NextCursor == "" {
			t.Fatalf("first page of versions %+v", versions)
		}
		e.do(http.MethodGet, one+"/versions?limit=1&cursor="+versions.NextCursor, bankToken, "").want(t, http.StatusOK, "versions, page 2").decode(t, &versions)
		if len(versions.Items) != 1 || versions.Items[0].Number != 2 {
			t.Fatalf("second page of versions %+v", versions)
		}
		e.do(http.MethodPost, one+"/versions/2/refuse", admin, `{"reason":"住所不是该事项必需"}`).want(t, http.StatusOK, "refuse").decode(t, &v)
		if v.State != "refused" || v.Reason != "住所不是该事项必需" {
			t.Fatalf("refused %+v", v)
		}
		var list api.Page[api.Matter]
		e.do(http.MethodGet, matters+"?usable=true", bankToken, "").want(t, http.StatusOK, "usable matters").decode(t, &list)
		if len(list.Items) != 1 || list.Items[0].ApprovedVersion != 1 {
			t.Fatalf("usable matters %+v", list.Items)
		}
		e.do(http.MethodGet, matters+"?org="+bank, hotelToken, "").want(t, http.StatusForbidden, "the hotel lists the bank's matters")

		// Type grants.
		grants := "/api/v1/use/grants"
		e.do(http.MethodPost, grants, bankToken, jsonBody(t, api.NewTypeGrant{Org: bank, Type: "BL0001"})).want(t, http.StatusForbidden, "a unit grants itself")
		past := time.Now().Add(-time.Hour)
		p = e.do(http.MethodPost, grants, admin, jsonBody(t, api.NewTypeGrant{Org: bank, Type: "BL0001", ValidUntil: &past})).
			want(t, http.StatusUnprocessableEntity, "a grant that ended already").problem(t)
		if !namesField(p, "valid_until", "future") {
			t.Fatalf("refusal names %+v, want valid_until/future", p.Errors)
		}
		p = e.do(http.MethodPost, grants, admin, jsonBody(t, api.NewTypeGrant{Org: bank, Type: "ZZ0009"})).
			want(t, http.StatusUnprocessableEntity, "an unknown type").problem(t)
		if !namesField(p, "type", "exists") {
			t.Fatalf("refusal names %+v, want type/exists", p.Errors)
		}
		var g api.TypeGrant
		until := time.Now().Add(24 * time.Hour)
		e.do(http.MethodPost, grants, admin, jsonBody(t, api.NewTypeGrant{Org: bank, Type: "BL0001", ValidUntil: &until}), "Idempotency-Key", "grant-1").
			want(t, http.StatusCreated, "grant").decode(t, &g)
		if g.State != "active" || g.Org != bank || g.ValidUntil == nil {
			t.Fatalf("grant %+v", g)
		}
		e.do(http.MethodPost, grants, admin, jsonBody(t, api.NewTypeGrant{Org: bank, Type: "BL0001"})).want(t, http.StatusConflict, "grant twice")
		e.do(http.MethodGet, grants+"/"+g.ID, bankToken, "").want(t, http.StatusOK, "the bank reads its grant")
		e.do(http.MethodGet, grants+"/"+g.ID, hotelToken, "").want(t, http.StatusNotFound, "the hotel reads the bank's grant")
		var gs api.Page[api.TypeGrant]
		e.do(http.MethodGet, grants+"?state=active", bankToken, "").want(t, http.StatusOK, "the bank's grants").decode(t, &gs)
		if len(gs.Items) != 1 {
			t.Fatalf("the bank's active grants %+v", gs.Items)
		}
		e.do(http.MethodGet, grants, hotelToken, "").want(t, http.StatusOK, "the hotel's grants").decode(t, &gs)
		if len(gs.Items) != 0 {
			t.Fatalf("the hotel sees %+v", gs.Items)
		}
		e.do(http.MethodGet, grants+"?org="+bank, hotelToken, "").want(t, http.StatusForbidden, "the hotel lists the bank's grants")
		withdraw := grants + "/" + g.ID + "/withdraw"
		e.do(http.MethodPost, withdraw, bankToken, `{"reason":"x"}`).want(t, http.StatusForbidden, "the unit withdraws")
		e.do(http.MethodPost, withdraw, admin, `{"reason":"协议终止"}`).want(t, http.StatusOK, "withdraw").decode(t, &g)
		if g.State != "withdrawn" || g.ClosedAt == nil {
			t.Fatalf("withdrawn %+v", g)
		}
		e.do(http.MethodPost, withdraw, admin, `{"reason":"再次"}`).want(t, http.StatusConflict, "withdraw twice")
		e.do(http.MethodGet, grants+"?state=withdrawn&org="+bank, auditor, "").want(t, http.StatusOK, "withdrawn grants").decode(t, &gs)
		if len(gs.Items) != 1 || gs.Items[0].ID != g.ID {
			t.Fatalf("withdrawn grants %+v", gs.Items)
		}
	})
}

// usingUnit creates using unit n named name and a token of a staff
// account of it, and returns its credit code and the token.
func (e *env) usingUnit(n int, name string) (string, string) {
	t, ctx := e.t, context.Background()
	t.Helper()
	o, err := e.svc.CreateOrg(ctx, org.NewOrg{CreditCode: code(t, n), Name: name, Region: "610100", Kinds: []org.Kind{org.KindUsingUnit},
		Responsible: org.Responsible{Name: "王五", Phone: "13700000000"}})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := e.svc.CreateAccount(ctx, org.NewAccount{Org: o.CreditCode, Name: name + "-staff", Roles: []authz.Role{authz.UsingUnit}})
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := e.svc.IssueToken(ctx, org.NewToken{AccountID: acc.ID})
	if err != nil {
		t.Fatal(err)
	}
	return o.CreditCode, secret
}
