package server_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestCatalogOverTheAPI drives the catalog routes end to end: an issuer
// defines its own type and proposes a version, platform admins review it,
// and every refusal answers with its status and, where a field is to
// blame, the field and rule: an issuer naming another organization or
// approving, an issuer proposing for another organization's type, unknown
// types and versions, an unapproved version, a second decision. Twenty
// simultaneous approvals of one version give one 200 and nineteen 409.
func TestCatalogOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		token := func(home, name string, r authz.Role) string {
			acc, err := e.svc.CreateAccount(ctx, org.NewAccount{Org: home, Name: name, Roles: []authz.Role{r}})
			if err != nil {
				t.Fatal(err)
			}
			secret, _, err := e.svc.IssueToken(ctx, org.NewToken{AccountID: acc.ID})
			if err != nil {
				t.Fatal(err)
			}
			return secret
		}
		issuer, admin, auditor := e.tokens[authz.Issuer], e.tokens[authz.PlatformAdmin], e.tokens[authz.Auditor]
		admin2 := token(e.platform, "second-admin", authz.PlatformAdmin)
		issuerB := token(e.orgB, "issuer-b", authz.Issuer)

		typ := api.NewLicenseType{Code: "TP0001", Name: api.Label{ZH: "测试许可证", EN: "Test permit"}, Issuers: []string{e.orgA},
			HolderKind: "organization", Level: "municipal", Public: "shared", CollectionStart: "2020-01-01",
			Validity: api.ValidityRule{Kind: "fixed", Years: 5}, Numbering: "{region}{year}{seq:6}"}
		types := "/api/v1/catalog/types"

		// An issuer names only its own organization; a bad code names its field and rule.
		other := typ
		other.Issuers = []string{e.orgB}
		p := e.do(http.MethodPost, types, issuer, jsonBody(t, other)).want(t, http.StatusForbidden, "an issuer defines another's type").problem(t)
		if !namesField(p, "issuers", "own-org") {
			t.Fatalf("refusal names %+v, want issuers/own-org", p.Errors)
		}
		bad := typ
		bad.Code = "TO0001" // O is not in the GB 32100 alphabet
		p = e.do(http.MethodPost, types, issuer, jsonBody(t, bad)).want(t, http.StatusUnprocessableEntity, "a bad code").problem(t)
		if !namesField(p, "code", "charset") {
			t.Fatalf("refusal names %+v, want code/charset", p.Errors)
		}
		e.do(http.MethodPost, types, auditor, jsonBody(t, typ)).want(t, http.StatusForbidden, "an auditor defines a type")

		// Defining is safe to retry with an Idempotency-Key.
		var defined api.LicenseType
		first := e.do(http.MethodPost, types, issuer, jsonBody(t, typ), "Idempotency-Key", "define-1").want(t, http.StatusCreated, "define")
		first.decode(t, &defined)
		again := e.do(http.MethodPost, types, issuer, jsonBody(t, typ), "Idempotency-Key", "define-1").want(t, http.StatusCreated, "define, retried")
		if string(again.body) != string(first.body) {
			t.Fatalf("retried definition answered %s, first %s", again.body, first.body)
		}
		if defined.Owner != e.orgA || defined.ApprovedVersion != 0 || len(defined.Issuers) != 1 {
			t.Fatalf("defined type %+v", defined)
		}
		e.do(http.MethodPost, types, issuer, jsonBody(t, typ)).want(t, http.StatusConflict, "define the same code again")
		e.do(http.MethodGet, types+"/TP0009", auditor, "").want(t, http.StatusNotFound, "unknown type")

		versions := types + "/TP0001/versions"
		tpl := map[string]any{"template": api.Template{Fields: []api.TemplateField{{Key: "name", Label: api.Label{ZH: "名称", EN: "Name"},
			Type: "string", Required: true, MaxLength: 100, Sensitivity: "public", Masking: api.Masking{Rule: "none"}}}}}
		e.do(http.MethodPost, versions, issuerB, jsonBody(t, tpl)).want(t, http.StatusForbidden, "propose for another organization's type")
		e.do(http.MethodPost, types+"/TP0009/versions", issuer, jsonBody(t, tpl)).want(t, http.StatusNotFound, "propose for an unknown type")
		badTpl := map[string]any{"template": map[string]any{"fields": []map[string]any{{"key": "Name", "label": map[string]string{"zh-CN": "名称", "en": "Name"},
			"type": "string", "max_length": 10, "sensitivity": "public", "masking": map[string]string{"rule": "none"}}}}}
		p = e.do(http.MethodPost, versions, issuer, jsonBody(t, badTpl)).want(t, http.StatusUnprocessableEntity, "a bad field key").problem(t)
		if len(p.Errors) == 0 || p.Errors[0].Rule != "key" {
			t.Fatalf("refusal names %+v, want rule key", p.Errors)
		}
		var v api.LicenseTypeVersion
		e.do(http.MethodPost, versions, issuer, jsonBody(t, tpl)).want(t, http.StatusCreated, "propose").decode(t, &v)
		if v.Number != 1 || v.State != "pending" || len(v.Events) != 1 {
			t.Fatalf("proposed version %+v", v)
		}

		// Not approved: not usable, not listed as usable.
		var list api.Page[api.LicenseType]
		e.do(http.MethodGet, types+"?usable=true", issuer, "").want(t, http.StatusOK, "usable types").decode(t, &list)
		if len(list.Items) != 0 {
			t.Fatalf("usable types before any approval: %+v", list.Items)
		}

		approve := versions + "/1/approve"
		e.do(http.MethodPost, approve, issuer, `{}`).want(t, http.StatusForbidden, "an issuer approves")
		e.do(http.MethodPost, versions+"/7/approve", admin, `{}`).want(t, http.StatusNotFound, "approve an unknown version")
		p = e.do(http.MethodPost, versions+"/1/reject", admin, `{}`).want(t, http.StatusUnprocessableEntity, "reject without a reason").problem(t)
		if !namesField(p, "reason", "required") {
			t.Fatalf("refusal names %+v, want reason/required", p.Errors)
		}
		e.do(http.MethodPost, approve, admin, `{"reason":"符合要求"}`).want(t, http.StatusOK, "approve").decode(t, &v)
		if v.State != "approved" || len(v.Events) != 2 || v.Events[1].Reason != "符合要求" {
			t.Fatalf("approved version %+v", v)
		}
		e.do(http.MethodPost, approve, admin2, `{}`).want(t, http.StatusConflict, "approve twice")

		e.do(http.MethodGet, types+"?usable=true&issuer="+e.orgA, issuerB, "").want(t, http.StatusOK, "usable types").decode(t, &list)
		if len(list.Items) != 1 || list.Items[0].ApprovedVersion != 1 {
			t.Fatalf("usable types of org A: %+v", list.Items)
		}

		// A version an admin wrote: not reviewed by its author; of twenty
		// simultaneous approvals by another admin, one wins.
		e.do(http.MethodPost, versions, admin, jsonBody(t, tpl)).want(t, http.StatusCreated, "propose as admin").decode(t, &v)
		p = e.do(http.MethodPost, versions+"/2/approve", admin, `{}`).want(t, http.StatusForbidden, "the author approves").problem(t)
		if !namesField(p, "by", "four-eyes") {
			t.Fatalf("refusal names %+v, want by/four-eyes", p.Errors)
		}
		var mu sync.Mutex
		statuses := map[int]int{}
		storetest.Race(20, func(int) {
			r := e.do(http.MethodPost, versions+"/2/approve", admin2, `{}`)
			mu.Lock()
			defer mu.Unlock()
			statuses[r.status]++
		})
		if statuses[http.StatusOK] != 1 || statuses[http.StatusConflict] != 19 {
			t.Fatalf("twenty approvals: %v, want one 200 and nineteen 409", statuses)
		}

		var vs api.Page[api.LicenseTypeVersion]
		e.do(http.MethodGet, versions+"?limit=1", auditor, "").want(t, http.StatusOK, "versions").decode(t, &vs)
		if len(vs.Items) != 1 || vs.NextCursor == "" {
			t.Fatalf("first page of versions: %+v", vs)
		}
		e.do(http.MethodGet, versions+"?limit=1&cursor="+vs.NextCursor, auditor, "").want(t, http.StatusOK, "versions, page 2").decode(t, &vs)
		if len(vs.Items) != 1 || vs.Items[0].Number != 2 || vs.Items[0].State != "approved" {
			t.Fatalf("second page of versions: %+v", vs)
		}
		e.do(http.MethodGet, versions+"/2", issuerB, "").want(t, http.StatusOK, "get version").decode(t, &v)
		if v.Number != 2 || len(v.Template.Fields) != 1 {
			t.Fatalf("version 2: %+v", v)
		}
		e.do(http.MethodGet, versions+"/3", issuerB, "").want(t, http.StatusNotFound, "unknown version")
	})
}
