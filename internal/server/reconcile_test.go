package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestReconcileOverTheAPI: an issued license counts in time in its
// month's lateness report; the issuer reconciles by digest and by list,
// twenty times at once through two processes, each recorded; bad input is
// refused naming field and rule; another issuer neither names it nor
// reads its reconciliations.
func TestReconcileOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := newLicenseEnv(t, db)
		admin := le.tokens[authz.PlatformAdmin]
		var l api.License
		le.do(http.MethodPost, "/api/v1/licenses", le.issuer, le.permit(t, nil)).want(t, http.StatusCreated, "issue").decode(t, &l)

		month := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01")
		var report api.LatenessReport
		le.do(http.MethodGet, "/api/v1/imports/lateness?from="+month, le.issuer, "").want(t, http.StatusOK, "the issuer's report").decode(t, &report)
		if len(report.Rows) != 1 || report.Rows[0].Kind != "issued" || report.Rows[0].OnTime != 1 || report.Rows[0].Late != 0 || report.Rows[0].Type != "PC0001" {
			t.Fatalf("report = %+v", report)
		}
		le.do(http.MethodGet, "/api/v1/imports/lateness?from="+month, admin, "").want(t, http.StatusOK, "the platform's report").decode(t, &report)
		if len(report.Rows) != 1 {
			t.Fatalf("platform report = %+v", report)
		}
		p := le.do(http.MethodGet, "/api/v1/imports/lateness?from="+month+"&issuer="+le.issuerOrg, le.otherIssuer, "").
			want(t, http.StatusForbidden, "another issuer's report").problem(t)
		if !namesField(p, "issuer", "own-org") {
			t.Fatalf("refusal names %+v", p.Errors)
		}

		sum := sha256.Sum256(fmt.Appendf(nil, "%s\t%d\n", l.Number, 1))
		digest := hex.EncodeToString(sum[:])
		var r api.Reconciliation
		le.do(http.MethodPost, "/api/v1/imports/reconciliations", le.issuer, jsonBody(t, api.NewReconciliation{Type: "PC0001", Count: 1, Digest: digest})).
			want(t, http.StatusCreated, "reconcile by digest").decode(t, &r)
		if !r.Match || r.Platform.Digest != digest || r.Platform.Count != 1 || r.First == nil {
			t.Fatalf("reconciliation = %+v", r)
		}
		list := []api.LicensePair{{Number: l.Number, Version: 2}, {Number: "X-1", Version: 1}}
		le.do(http.MethodPost, "/api/v1/imports/reconciliations", le.issuer, jsonBody(t, api.NewReconciliation{Type: "PC0001", Licenses: &list})).
			want(t, http.StatusCreated, "reconcile by list").decode(t, &r)
		if r.Match || r.Version != 1 || r.Missing != 1 || len(r.First) != 2 {
			t.Fatalf("reconciliation of a list = %+v", r)
		}
		for _, c := range []struct {
			body        api.NewReconciliation
			field, rule string
		}{
			{api.NewReconciliation{Type: "PC0001", Digest: digest[1:]}, "digest", "sha256"},
			{api.NewReconciliation{Type: "PC0001", Count: -1, Digest: digest}, "count", "range"},
			{api.NewReconciliation{Type: "XX9999", Digest: digest}, "type", "exists"},
			{api.NewReconciliation{Type: "PC0001", Digest: digest, Licenses: &list}, "licenses", "exclusive"},
		} {
			p := le.do(http.MethodPost, "/api/v1/imports/reconciliations", le.issuer, jsonBody(t, c.body)).
				want(t, http.StatusUnprocessableEntity, "bad input").problem(t)
			if !namesField(p, c.field, c.rule) {
				t.Errorf("%+v: refusal names %+v, want %s/%s", c.body, p.Errors, c.field, c.rule)
			}
		}
		le.do(http.MethodPost, "/api/v1/imports/reconciliations", le.otherIssuer,
			jsonBody(t, api.NewReconciliation{Type: "PC0001", Issuer: le.issuerOrg, Digest: digest})).want(t, http.StatusForbidden, "another issuer")

		second := newProcess(t, db, time.Now)
		statuses := map[int]int{}
		body := jsonBody(t, api.NewReconciliation{Type: "PC0001", Count: 1, Digest: digest})
		for _, a := range postConcurrently(20, []http.Handler{le.h, second.h}, "/api/v1/imports/reconciliations", le.issuer, []byte(body)) {
			statuses[a.status]++
		}
		if statuses[http.StatusCreated] != 20 {
			t.Fatalf("twenty reconciliations: %v, want twenty 201", statuses)
		}
		var pg api.Page[api.Reconciliation]
		le.do(http.MethodGet, "/api/v1/imports/reconciliations?limit=100", le.issuer, "").want(t, http.StatusOK, "list").decode(t, &pg)
		if len(pg.Items) != 22 {
			t.Fatalf("%d reconciliations listed, want 22", len(pg.Items))
		}
		le.do(http.MethodGet, "/api/v1/imports/reconciliations", le.otherIssuer, "").want(t, http.StatusOK, "another's list").decode(t, &pg)
		if len(pg.Items) != 0 {
			t.Fatalf("another issuer lists %d", len(pg.Items))
		}
	})
}
