package server_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestSealBindingOverTheAPI binds a license-issuing seal to license
// issuance and unbinds it through the application routes: the application
// shows what the binding allows, approval shows the binding, unbinding
// ends it; binding a seal of another kind, another organization's seal, and
// a decision by anyone but the competent approver are refused.
func TestSealBindingOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		user, token := sealUserOrg(t, e, "发证机关")
		admin, _ := token(user.CreditCode, authz.OrgAdmin)
		keeper, keeperID := token(user.CreditCode, authz.SealKeeper)
		approver, approverID := token(e.platform, authz.SealApprover)
		otherAdmin, _ := token(e.orgB, authz.OrgAdmin)

		applications := "/api/v1/orgs/" + user.CreditCode + "/seal-applications"
		makeSeal := func(kind string) string {
			var app api.SealApplication
			e.do(http.MethodPost, applications, admin, jsonBody(t, map[string]any{"action": "make", "seal_kind": kind, "name": "印章 " + kind,
				"reason": "启用", "image": seal.SampleImage(), "width_mm": 40, "height_mm": 40, "keepers": []string{keeperID}})).
				want(t, http.StatusCreated, "apply to make a "+kind+" seal").decode(t, &app)
			e.do(http.MethodPost, "/api/v1/seal-applications/"+app.ID+"/decision", approver, `{"approve":true}`).
				want(t, http.StatusOK, "approve making").decode(t, &app)
			return app.SealID
		}
		contract, licensing := makeSeal("contract"), makeSeal("license-issuing")

		p := e.do(http.MethodPost, applications, admin, jsonBody(t, map[string]any{"action": "bind", "seal_id": contract, "reason": "证照签发"})).
			want(t, http.StatusUnprocessableEntity, "bind a contract seal").problem(t)
		if len(p.Errors) == 0 || p.Errors[0].Field != "seal_id" || p.Errors[0].Rule != "license-issuing" {
			t.Fatalf("problem for binding a contract seal names %+v", p.Errors)
		}
		// Another organization applies, in its own name, for this seal: it is not found there.
		e.do(http.MethodPost, "/api/v1/orgs/"+e.orgB+"/seal-applications", otherAdmin,
			jsonBody(t, map[string]any{"action": "bind", "seal_id": licensing, "reason": "冒用"})).want(t, http.StatusNotFound, "bind another organization's seal")
		e.do(http.MethodPost, applications, otherAdmin,
			jsonBody(t, map[string]any{"action": "bind", "seal_id": licensing, "reason": "冒用"})).want(t, http.StatusForbidden, "apply for another organization")

		var app api.SealApplication
		e.do(http.MethodPost, applications, admin, jsonBody(t, map[string]any{"action": "bind", "seal_id": licensing, "reason": "证照签发",
			"license_types": []string{"BL01", "FL02"}, "until": "2099-12-31T00:00:00Z"})).want(t, http.StatusCreated, "apply to bind").decode(t, &app)
		if app.Service != "license-issuance" || !slices.Equal(app.LicenseTypes, []string{"BL01", "FL02"}) || app.Until == nil || app.SealID != licensing {
			t.Fatalf("bind application shows %+v", app)
		}
		bindingPath := "/api/v1/seals/" + licensing + "/binding"
		e.do(http.MethodGet, bindingPath, keeper, "").want(t, http.StatusNotFound, "binding before approval")
		decision := "/api/v1/seal-applications/" + app.ID + "/decision"
		e.do(http.MethodPost, decision, admin, `{"approve":true}`).want(t, http.StatusForbidden, "bind approved by the applicant")
		e.do(http.MethodPost, decision, keeper, `{"approve":true}`).want(t, http.StatusForbidden, "bind approved by a keeper")
		e.do(http.MethodPost, decision, approver, `{"approve":true}`).want(t, http.StatusOK, "approve binding")

		var b api.SealBinding
		e.do(http.MethodGet, bindingPath, keeper, "").want(t, http.StatusOK, "binding").decode(t, &b)
		if !b.InForce || b.Service != "license-issuance" || b.ApplicationID != app.ID || b.BoundBy != approverID ||
			!slices.Equal(b.LicenseTypes, []string{"BL01", "FL02"}) || b.SealID != licensing {
			t.Fatalf("binding %+v", b)
		}
		if r := e.do(http.MethodGet, bindingPath, otherAdmin, ""); r.status != http.StatusNotFound {
			t.Fatalf("another organization reads the binding: %d %s", r.status, r.body)
		}
		e.do(http.MethodPost, applications, admin, jsonBody(t, map[string]any{"action": "bind", "seal_id": licensing, "reason": "再绑"})).
			want(t, http.StatusConflict, "bind a bound seal")

		e.do(http.MethodPost, applications, admin, jsonBody(t, map[string]any{"action": "unbind", "seal_id": licensing, "reason": "停止签发"})).
			want(t, http.StatusCreated, "apply to unbind").decode(t, &app)
		e.do(http.MethodPost, "/api/v1/seal-applications/"+app.ID+"/decision", approver, `{"approve":true}`).want(t, http.StatusOK, "approve unbinding")
		e.do(http.MethodGet, bindingPath, keeper, "").want(t, http.StatusNotFound, "binding after unbind")

		var events api.Page[api.SealEvent]
		e.do(http.MethodGet, "/api/v1/seals/"+licensing+"/events", keeper, "").want(t, http.StatusOK, "seal events").decode(t, &events)
		var actions []string
		for _, ev := range events.Items {
			actions = append(actions, ev.Action)
		}
		if !slices.Equal(actions, []string{"made", "bound", "unbound"}) {
			t.Fatalf("events %v, want made, bound, unbound", actions)
		}
	})
}
