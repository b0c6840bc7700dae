package server_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestCaseArchiveOverTheAPI: a hotel's use names its case; a use without
// one is attached afterwards, twenty times at once through two processes,
// kept once; the case lists both records with their audit entries; bad
// input and another unit's use name field and rule; the issuer reads how
// its license was used this month, nobody else but the platform.
func TestCaseArchiveOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := newLicenseEnv(t, db)
		hotelOrg, hotel := le.usingUnit(20, "酒店")
		_, bank := le.usingUnit(21, "银行")
		admin := le.tokens[authz.PlatformAdmin]
		var l api.License
		le.do(http.MethodPost, "/api/v1/licenses", le.issuer, le.permit(t, nil)).want(t, http.StatusCreated, "issue").decode(t, &l)
		m := api.NewMatter{Code: "ZS-01", MatterContent: api.MatterContent{Name: "旅客住宿登记", LegalBasis: "《旅馆业治安管理办法》第六条",
			Needs: []api.MatterNeed{{Type: "PC0001", Fields: []string{"name"}}}}}
		le.do(http.MethodPost, "/api/v1/use/matters", hotel, jsonBody(t, m)).want(t, http.StatusCreated, "list the matter")
		le.do(http.MethodPost, "/api/v1/use/matters/"+hotelOrg+"/ZS-01/versions/1/approve", admin, `{}`).want(t, http.StatusOK, "approve")
		le.do(http.MethodPost, "/api/v1/use/grants", admin, jsonBody(t, api.NewTypeGrant{Org: hotelOrg, Type: "PC0001"})).
			want(t, http.StatusCreated, "grant PC0001")

		const kase = "（2026）住字第0001号"
		path := "/api/v1/use/cases/" + url.PathEscape(kase)
		var withCase, without api.UseResult
		le.do(http.MethodPost, "/api/v1/uses", hotel, jsonBody(t, api.UseQuery{Matter: "ZS-01", HolderID: "11010519491231002X", Case: kase})).
			want(t, http.StatusOK, "use for the case").decode(t, &withCase)
		le.do(http.MethodPost, "/api/v1/uses", hotel, jsonBody(t, api.UseQuery{Matter: "ZS-01", HolderID: "11010519491231002X"})).
			want(t, http.StatusOK, "use").decode(t, &without)
		if withCase.Case != kase || withCase.Use == "" || without.Use == "" || without.Use == withCase.Use || len(without.Licenses) != 1 {
			t.Fatalf("uses = %+v, %+v", withCase, without)
		}

		attach := jsonBody(t, api.CaseAttachment{Use: without.Use, License: l.ID})
		second := newProcess(t, db, time.Now)
		statuses := map[int]int{}
		for _, a := range postConcurrently(20, []http.Handler{le.h, second.h}, path+"/records", hotel, []byte(attach)) {
			statuses[a.status]++
		}
		if statuses[http.StatusOK] != 20 {
			t.Fatalf("twenty attachments: %v, want twenty 200", statuses)
		}
		p := le.do(http.MethodPost, path+"/records", bank, attach).want(t, http.StatusNotFound, "another unit's use").problem(t)
		if !namesField(p, "use", "exists") {
			t.Fatalf("refusal names %+v, want use/exists", p.Errors)
		}
		p = le.do(http.MethodPost, "/api/v1/use/cases/a%25b/records", hotel, jsonBody(t, api.CaseAttachment{Use: "use_1", License: l.ID})).
			want(t, http.StatusUnprocessableEntity, "a bad case and use").problem(t)
		if !namesField(p, "case", "case-number") || !namesField(p, "use", "use-id") {
			t.Fatalf("refusal names %+v", p.Errors)
		}
		le.do(http.MethodPost, path+"/records", le.issuer, attach).want(t, http.StatusForbidden, "an issuer attaches")

		storetest.AuditEntries(t, db) // integrated, so that the records name their entries
		var records api.Page[api.CaseRecord]
		le.do(http.MethodGet, path, hotel, "").want(t, http.StatusOK, "list the case").decode(t, &records)
		if len(records.Items) != 2 || records.Items[0].Use != withCase.Use || records.Items[1].Use != without.Use {
			t.Fatalf("case = %+v", records.Items)
		}
		for _, r := range records.Items {
			if r.License != l.ID || r.Number != l.Number || r.Type != "PC0001" || r.Matter != "ZS-01" || r.Entry == nil {
				t.Fatalf("record = %+v", r)
			}
		}
		le.do(http.MethodGet, path, bank, "").want(t, http.StatusOK, "the bank's case of that number").decode(t, &records)
		if len(records.Items) != 0 {
			t.Fatalf("the bank reads %+v", records.Items)
		}
		le.do(http.MethodGet, path+"?org="+hotelOrg, bank, "").want(t, http.StatusForbidden, "the bank reads the hotel's case")

		month := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01")
		var report api.UsageReport
		le.do(http.MethodGet, "/api/v1/use/reports?from="+month, le.issuer, "").want(t, http.StatusOK, "the issuer's report").decode(t, &report)
		if len(report.Rows) != 1 || report.Rows[0].Unit != hotelOrg || report.Rows[0].Matter != "ZS-01" || report.Rows[0].Uses != 2 || report.Rows[0].Month != month {
			t.Fatalf("report = %+v", report)
		}
		p = le.do(http.MethodGet, "/api/v1/use/reports?from=2026-1", le.issuer, "").want(t, http.StatusUnprocessableEntity, "a bad month").problem(t)
		if !namesField(p, "from", "month") {
			t.Fatalf("refusal names %+v", p.Errors)
		}
		le.do(http.MethodGet, "/api/v1/use/reports?from="+month, hotel, "").want(t, http.StatusForbidden, "a unit reads an issuer's report")
		le.do(http.MethodGet, "/api/v1/use/reports?from="+month, admin, "").want(t, http.StatusOK, "the platform's report").decode(t, &report)
		if len(report.Rows) != 1 {
			t.Fatalf("platform report = %+v", report)
		}
	})
}
