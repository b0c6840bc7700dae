package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/verify"
)

// jsonBody marshals v for a request body.
func jsonBody(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// decode reads a JSON response body into v.
func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
}

// want fails the test unless the response has the wanted status.
func (r response) want(t testing.TB, status int, what string) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.body)
	}
	return r
}

// sealUserOrg makes the platform root and an organization under the
// platform that uses seals; token makes an account of an organization with
// one role and returns its API token and account ID.
func sealUserOrg(t *testing.T, e *env, name string) (user org.Org, token func(home string, r authz.Role) (secret, accountID string)) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.pki.InitRoot(ctx, e.platform, "root", "平台根证书", keys.SM2SM3, 20); err != nil {
		t.Fatal(err)
	}
	user, err := e.svc.CreateOrg(ctx, org.NewOrg{CreditCode: code(t, 4), Name: name, Region: "610100",
		Kinds: []org.Kind{org.KindSealUser}, Parent: e.platform, Responsible: org.Responsible{Name: "赵六", Phone: "13600000000"}})
	if err != nil {
		t.Fatal(err)
	}
	return user, func(home string, r authz.Role) (string, string) {
		acc, err := e.svc.CreateAccount(ctx, org.NewAccount{Org: home, Name: fmt.Sprintf("%s-%s", r, home[8:]), Roles: []authz.Role{r}})
		if err != nil {
			t.Fatal(err)
		}
		secret, _, err := e.svc.IssueToken(ctx, org.NewToken{AccountID: acc.ID})
		if err != nil {
			t.Fatal(err)
		}
		return secret, acc.ID
	}
}

// TestSealsOverTheAPI drives the seal routes end to end, as an organization,
// its keeper and the platform's approver use them: apply, refuse a bad image
// with its field, approve (the seal is made), set the PIN, request and
// approve a use, refuse a wrong PIN, sign, verify online and against the
// trust bundle offline, and refuse every step to another organization.
func TestSealsOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		user, token := sealUserOrg(t, e, "用章单位")
		admin, _ := token(user.CreditCode, authz.OrgAdmin)
		keeper, keeperID := token(user.CreditCode, authz.SealKeeper)
		approver, _ := token(e.platform, authz.SealApprover)
		otherAdmin, _ := token(e.orgB, authz.OrgAdmin)
		otherKeeper, _ := token(e.orgB, authz.SealKeeper)

		applications := "/api/v1/orgs/" + user.CreditCode + "/seal-applications"
		count := func() int {
			var list struct {
				Items []json.RawMessage `json:"items"`
			}
			e.do(http.MethodGet, applications, admin, "").want(t, http.StatusOK, "list applications").decode(t, &list)
			return len(list.Items)
		}
		apply := map[string]any{"action": "make", "seal_kind": "contract", "name": "合同专用章", "reason": "启用电子合同",
			"image": seal.SampleImage(), "width_mm": 40, "height_mm": 40, "keepers": []string{keeperID}, "use_policy": "one"}

		// Another organization's admin cannot apply for this one.
		e.do(http.MethodPost, applications, otherAdmin, jsonBody(t, apply)).want(t, http.StatusForbidden, "apply for another organization")
		// An image that is not a seal imprint names the field and rule and stores nothing.
		bad := maps(apply, "image", []byte("GIF89a"))
		p := e.do(http.MethodPost, applications, admin, jsonBody(t, bad)).want(t, http.StatusUnprocessableEntity, "a GIF image").problem(t)
		if len(p.Errors) == 0 || p.Errors[0].Field != "image" || p.Errors[0].Rule != "format" {
			t.Fatalf("problem for a GIF image names %+v, want image/format", p.Errors)
		}
		if n := count(); n != 0 {
			t.Fatalf("%d applications after refused ones, want 0", n)
		}

		var app struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			SealID string `json:"seal_id"`
		}
		e.do(http.MethodPost, applications, admin, jsonBody(t, apply)).want(t, http.StatusCreated, "apply").decode(t, &app)
		if app.Status != "pending" {
			t.Fatalf("new application is %q, want pending", app.Status)
		}
		decision := "/api/v1/seal-applications/" + app.ID + "/decision"
		// Only the competent approver decides: not an organization's keeper, not the applicant.
		e.do(http.MethodPost, decision, otherKeeper, `{"approve":true}`).want(t, http.StatusForbidden, "decision by a keeper")
		e.do(http.MethodPost, decision, admin, `{"approve":true}`).want(t, http.StatusForbidden, "decision by the applicant")
		e.do(http.MethodPost, decision, approver, `{"approve":true,"comment":"同意"}`).want(t, http.StatusOK, "approve").decode(t, &app)
		if app.Status != "approved" || app.SealID == "" {
			t.Fatalf("approved application %+v has no seal", app)
		}

		sealPath := "/api/v1/seals/" + app.SealID
		var s struct {
			ID    string `json:"id"`
			State string `json:"state"`
		}
		e.do(http.MethodGet, sealPath, keeper, "").want(t, http.StatusOK, "get seal").decode(t, &s)
		if s.State != "active" {
			t.Fatalf("made seal is %q, want active", s.State)
		}
		if r := e.do(http.MethodGet, sealPath, otherAdmin, ""); r.status != http.StatusForbidden && r.status != http.StatusNotFound {
			t.Fatalf("another organization reads the seal: %d %s", r.status, r.body)
		}
		var events api.Page[api.SealEvent]
		e.do(http.MethodGet, sealPath+"/events", keeper, "").want(t, http.StatusOK, "seal events").decode(t, &events)
		if len(events.Items) != 1 || events.Items[0].Action != "made" || events.Items[0].State != "active" ||
			events.Items[0].SealID != s.ID || events.Items[0].ApplicationID != app.ID {
			t.Fatalf("events of a new seal %+v, want one: made, active, by application %s", events.Items, app.ID)
		}

		e.do(http.MethodPost, sealPath+"/pin", otherKeeper, `{"new_pin":"135790"}`).want(t, http.StatusForbidden, "another keeper sets the PIN")
		e.do(http.MethodPost, sealPath+"/pin", keeper, `{"new_pin":"246810"}`).want(t, http.StatusOK, "set PIN")

		document := []byte("电子合同正文 / contract text")
		sum := sm3.Sum(document)
		hash := fmt.Sprintf("%x", sum[:])
		var req struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		use := jsonBody(t, map[string]string{"doc_hash": hash, "title": "电子合同", "purpose": "签约"})
		e.do(http.MethodPost, sealPath+"/use-requests", otherKeeper, use).want(t, http.StatusForbidden, "another keeper requests a use")
		e.do(http.MethodPost, sealPath+"/use-requests", keeper, use).want(t, http.StatusCreated, "use request").decode(t, &req)
		sign := func(pin string) response {
			return e.do(http.MethodPost, sealPath+"/sign", keeper, jsonBody(t, map[string]any{"request_id": req.ID, "pin": pin, "document": document}))
		}
		// Not before the use is approved.
		sign("246810").want(t, http.StatusConflict, "signing before the use is approved")
		e.do(http.MethodPost, "/api/v1/seal-use-requests/"+req.ID+"/decision", approver, `{"approve":true}`).want(t, http.StatusOK, "approve use")

		sign("000000").want(t, http.StatusUnprocessableEntity, "a wrong PIN")
		var signed struct {
			Signature []byte `json:"signature"`
		}
		sign("246810").want(t, http.StatusOK, "sign").decode(t, &signed)

		// Online: valid for the document, invalid for another.
		var v verify.Verdict
		e.do(http.MethodPost, "/api/v1/signatures/verify", otherAdmin, jsonBody(t, map[string]any{"signature": signed.Signature, "document": document})).
			want(t, http.StatusOK, "verify").decode(t, &v)
		if !v.Valid || v.SealCode != s.ID {
			t.Fatalf("verdict %+v, want valid for seal %s", v, s.ID)
		}
		e.do(http.MethodPost, "/api/v1/signatures/verify", otherAdmin, jsonBody(t, map[string]any{"signature": signed.Signature, "document": []byte("changed")})).
			want(t, http.StatusOK, "verify a changed document").decode(t, &v)
		if v.Valid {
			t.Fatal("a changed document verifies")
		}

		// Offline: the trust bundle from the API, pinned to the platform root.
		var root struct {
			Fingerprint string `json:"fingerprint"`
		}
		e.do(http.MethodGet, "/api/v1/ca/root", otherAdmin, "").want(t, http.StatusOK, "platform root").decode(t, &root)
		r := e.do(http.MethodGet, "/api/v1/seals/trust-bundle", otherAdmin, "").want(t, http.StatusOK, "trust bundle")
		b, err := verify.OpenBundle(r.body, root.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		if v := verify.Seal(ctx, b, signed.Signature, document, nil, time.Now()); !v.Valid {
			t.Fatalf("offline verdict %+v, want valid", v)
		}

		// Every step is in the audit log, with the seal as subject where it has one.
		entries, _ := storetest.AuditEntries(t, db)
		var actions []string
		for _, en := range entries {
			if en.Org == user.CreditCode {
				actions = append(actions, en.Action)
			}
		}
		for _, want := range []string{"seal.made", "seal.sign"} {
			if !slices.Contains(actions, want) {
				t.Errorf("audit actions of the organization %v lack %s", actions, want)
			}
		}
	})
}

// maps returns a copy of m with key set to v.
func maps(m map[string]any, key string, v any) map[string]any {
	c := make(map[string]any, len(m))
	for k, x := range m {
		c[k] = x
	}
	c[key] = v
	return c
}
