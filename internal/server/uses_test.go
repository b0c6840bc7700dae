package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestScopedUseOverTheAPI: a hotel's staff use a guest's residence permit
// for their approved matter and get the three fields it needs, masked;
// bad input names its field and rule; a type the matter does not need is
// 403; twenty simultaneous uses through two processes all answer; a
// process with a small bucket answers 429 with Retry-After.
func TestScopedUseOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := newLicenseEnv(t, db)
		ctx := context.Background()
		o, err := le.svc.CreateOrg(ctx, org.NewOrg{CreditCode: code(t, 20), Name: "酒店", Region: "610100", Kinds: []org.Kind{org.KindUsingUnit},
			Responsible: org.Responsible{Name: "王五", Phone: "13700000000"}})
		if err != nil {
			t.Fatal(err)
		}
		acc, err := le.svc.CreateAccount(ctx, org.NewAccount{Org: o.CreditCode, Name: "hotel-staff", Roles: []authz.Role{authz.UsingUnit}})
		if err != nil {
			t.Fatal(err)
		}
		hotel, _, err := le.svc.IssueToken(ctx, org.NewToken{AccountID: acc.ID})
		if err != nil {
			t.Fatal(err)
		}
		admin := le.tokens[authz.PlatformAdmin]
		var l api.License
		le.do(http.MethodPost, "/api/v1/licenses", le.issuer, le.permit(t, nil)).want(t, http.StatusCreated, "issue").decode(t, &l)
		m := api.NewMatter{Code: "ZS-01", MatterContent: api.MatterContent{Name: "旅客住宿登记", LegalBasis: "《旅馆业治安管理办法》第六条",
			Needs: []api.MatterNeed{{Type: "PC0001", Fields: []string{"name", "citizen_id", "issuing_authority"}}}}}
		le.do(http.MethodPost, "/api/v1/use/matters", hotel, jsonBody(t, m)).want(t, http.StatusCreated, "list the matter")
		le.do(http.MethodPost, "/api/v1/use/matters/"+o.CreditCode+"/ZS-01/versions/1/approve", admin, `{}`).want(t, http.StatusOK, "approve")
		le.do(http.MethodPost, "/api/v1/use/grants", admin, jsonBody(t, api.NewTypeGrant{Org: o.CreditCode, Type: "PC0001"})).
			want(t, http.StatusCreated, "grant PC0001")

		query := jsonBody(t, api.UseQuery{Matter: "ZS-01", HolderID: "11010519491231002X"})
		var r api.UseResult
		le.do(http.MethodPost, "/api/v1/uses", hotel, query).want(t, http.StatusOK, "use").decode(t, &r)
		if r.Org != o.CreditCode || r.MatterVersion != 1 || len(r.Licenses) != 1 || r.Licenses[0].ID != l.ID || len(r.Licenses[0].Fields) != 3 {
			t.Fatalf("use = %+v", r)
		}
		f := r.Licenses[0].Fields
		if f["name"].Value != "王**" || !f["name"].Masked || f["citizen_id"].Value != "110***********002X" || f["issuing_authority"].Masked {
			t.Fatalf("fields = %+v", f)
		}

		p := le.do(http.MethodPost, "/api/v1/uses", hotel, jsonBody(t, api.UseQuery{Matter: "ZS-01", HolderID: "110105194912310021"})).
			want(t, http.StatusUnprocessableEntity, "a bad check character").problem(t)
		if !namesField(p, "holder_id", "check-character") {
			t.Fatalf("refusal names %+v, want holder_id/check-character", p.Errors)
		}
		p = le.do(http.MethodPost, "/api/v1/uses", hotel, jsonBody(t, api.UseQuery{Matter: "ZS-01", HolderID: "11010519491231002X", Type: "BL0001"})).
			want(t, http.StatusForbidden, "a type the matter does not need").problem(t)
		if !namesField(p, "type", "matter-needs") {
			t.Fatalf("refusal names %+v, want type/matter-needs", p.Errors)
		}
		le.do(http.MethodPost, "/api/v1/uses", le.issuer, query).want(t, http.StatusForbidden, "an issuer uses licenses")
		le.do(http.MethodPost, "/api/v1/uses", admin, query).want(t, http.StatusForbidden, "a platform admin uses licenses")

		second := newProcess(t, db, time.Now)
		statuses := map[int]int{}
		for _, a := range postConcurrently(20, []http.Handler{le.h, second.h}, "/api/v1/uses", hotel, []byte(query)) {
			statuses[a.status]++
		}
		if statuses[http.StatusOK] != 20 {
			t.Fatalf("twenty uses: %v, want twenty 200", statuses)
		}

		slow := newProcessWith(t, db, platform.Options{Clock: time.Now, PublicURL: publicURL, UseRate: 0.01, UseBurst: 1})
		slow.do(http.MethodPost, "/api/v1/uses", hotel, query).want(t, http.StatusOK, "the first use of the burst")
		limited := slow.do(http.MethodPost, "/api/v1/uses", hotel, query).want(t, http.StatusTooManyRequests, "over the rate")
		if ra := limited.header.Get("Retry-After"); ra == "" || strings.HasPrefix(ra, "0") {
			t.Fatalf("Retry-After = %q", ra)
		}
		if p := limited.problem(t); p.Kind != "rate-limited" {
			t.Fatalf("problem %+v", p)
		}
	})
}
