package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestLicenseTransferAPI files an issuer transfer job over the API, has a
// runner run it as serve's does, and follows it: refusals name their
// field and rule, the job shows its progress, the licenses are the new
// issuer's.
func TestLicenseTransferAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		le := newLicenseEnv(t, db)
		admin := le.tokens[authz.PlatformAdmin]
		// The business license BL0001, any issuer; three issued by the
		// license environment's issuer.
		d := le.approveShipped(t, "BL0001")
		acc, err := le.svc.CreateAccount(ctx, org.NewAccount{Org: le.issuerOrg, Name: "bl-issuer", Roles: []authz.Role{authz.Issuer}})
		if err != nil {
			t.Fatal(err)
		}
		issuer := &authz.Actor{AccountID: acc.ID, Org: le.issuerOrg, Roles: acc.Roles}
		var face struct {
			CreditCode string `json:"credit_code"`
		}
		if err := json.Unmarshal(d.Sample, &face); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := le.p.Licenses.Issue(ctx, issuer, license.NewLicense{Type: "BL0001", HolderID: face.CreditCode, HolderName: "某公司",
				Face: d.Sample}); err != nil {
				t.Fatal(err)
			}
		}
		body := func(to string) string {
			return jsonBody(t, map[string]any{"from": le.issuerOrg, "to": to, "types": []string{"BL0001"}, "reason": "机构改革"})
		}
		le.do(http.MethodPost, "/api/v1/license-transfers", le.issuer, body(le.orgB)).want(t, http.StatusForbidden, "an issuer files")
		if p := le.do(http.MethodPost, "/api/v1/license-transfers", admin, body(le.issuerOrg)).want(t, http.StatusUnprocessableEntity,
			"to itself").problem(t); !namesField(p, "to", "distinct") {
			t.Errorf("to itself: %+v", p)
		}
		if p := le.do(http.MethodPost, "/api/v1/license-transfers", admin, body(le.orgB)).want(t, http.StatusConflict,
			"to an issuer without a seal").problem(t); !namesField(p, "to", "seal-not-bound") {
			t.Errorf("to an issuer without a seal: %+v", p)
		}

		// The new owner: an issuer whose license-issuing seal is bound.
		newOrg, err := le.svc.CreateOrg(ctx, org.NewOrg{CreditCode: code(t, 30), Name: "新发证机关", Region: "610100",
			Kinds: []org.Kind{org.KindSealUser, org.KindIssuer}, Parent: le.platform, Responsible: org.Responsible{Name: "钱七", Phone: "13500000000"}})
		if err != nil {
			t.Fatal(err)
		}
		account := func(r authz.Role) *authz.Actor {
			a, err := le.svc.CreateAccount(ctx, org.NewAccount{Org: newOrg.CreditCode, Name: "new-" + string(r), Roles: []authz.Role{r}})
			if err != nil {
				t.Fatal(err)
			}
			return &authz.Actor{AccountID: a.ID, Org: newOrg.CreditCode, Roles: a.Roles}
		}
		orgAdmin, keeper := account(authz.OrgAdmin), account(authz.SealKeeper)
		approver := &authz.Actor{AccountID: "approver", Org: le.platform, Roles: []authz.Role{authz.SealApprover}}
		app, err := le.p.Seals.Apply(ctx, orgAdmin, seal.NewApplication{Org: newOrg.CreditCode, Action: seal.Make, SealKind: seal.LicenseIssuing,
			Name: "证照专用章", Reason: "签发电子证照", Image: seal.SampleImage(), WidthMM: 40, HeightMM: 40, Keepers: []string{keeper.AccountID}})
		if err != nil {
			t.Fatal(err)
		}
		if app, err = le.p.Seals.Decide(ctx, approver, app.ID, true, "同意"); err != nil {
			t.Fatal(err)
		}
		bind, err := le.p.Seals.Apply(ctx, orgAdmin, seal.NewApplication{Org: newOrg.CreditCode, Action: seal.Bind, SealID: app.SealID, Reason: "证照签发"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := le.p.Seals.Decide(ctx, approver, bind.ID, true, "同意"); err != nil {
			t.Fatal(err)
		}

		var j api.LicenseTransfer
		le.do(http.MethodPost, "/api/v1/license-transfers", admin, body(newOrg.CreditCode)).want(t, http.StatusCreated, "file").decode(t, &j)
		if j.State != "queued" || j.Total != 3 || j.Moved != 0 || j.From != le.issuerOrg || j.To != newOrg.CreditCode {
			t.Fatalf("filed %+v", j)
		}
		// serve's runner.
		if _, err := le.p.Licenses.RunTransfer(ctx, j.ID, "serve-1", license.TransferRun{Batch: 2}); err != nil {
			t.Fatal(err)
		}
		le.do(http.MethodGet, "/api/v1/license-transfers/"+j.ID, admin, "").want(t, http.StatusOK, "progress").decode(t, &j)
		if j.State != "done" || j.Moved != 3 || j.Total != 3 || j.Cursor == "" {
			t.Errorf("done: %+v", j)
		}
		var list struct {
			Items []api.LicenseTransfer `json:"items"`
		}
		le.do(http.MethodGet, "/api/v1/license-transfers?state=done", admin, "").want(t, http.StatusOK, "list").decode(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID != j.ID {
			t.Errorf("list: %+v", list.Items)
		}
		if p := le.do(http.MethodPost, "/api/v1/license-transfers/"+j.ID+"/cancel", admin, "").want(t, http.StatusConflict,
			"cancel a done job").problem(t); !namesField(p, "id", "state") {
			t.Errorf("cancel a done job: %+v", p)
		}
		le.do(http.MethodGet, "/api/v1/license-transfers/ltr_none", admin, "").want(t, http.StatusNotFound, "no such job")
		le.do(http.MethodGet, "/api/v1/license-transfers", le.issuer, "").want(t, http.StatusForbidden, "an issuer lists")
		ls, err := db.ListLicenses(ctx, license.Filter{TypeCode: "BL0001", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			if l.Issuer != newOrg.CreditCode || l.SealID != app.SealID || l.Version != 2 {
				t.Errorf("license %s: issuer %s seal %s version %d", l.ID, l.Issuer, l.SealID, l.Version)
			}
		}
	})
}
