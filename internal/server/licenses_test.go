package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/verify"
)

// licenseEnv is an issuing organization whose license-issuing seal is
// bound to license issuance, and the residence permit PC0001, which it
// alone issues, approved.
type licenseEnv struct {
	*env
	issuerOrg       string
	issuer, admin   string // tokens of the issuing organization
	issuerID        string // the account of the issuer token
	approver        string // the platform's seal approver
	otherIssuer     string // an issuer of another organization
	sealID          string
	sample          json.RawMessage
	applicationsURL string
}

func newLicenseEnv(t testing.TB, db *store.DB) licenseEnv {
	t.Helper()
	return newLicenseEnvAt(t, db, time.Now)
}

// newLicenseEnvAt is newLicenseEnv on a clock.
func newLicenseEnvAt(t testing.TB, db *store.DB, now func() time.Time) licenseEnv {
	t.Helper()
	ctx := context.Background()
	e := newEnvAt(t, db, now)
	if _, err := e.pki.InitRoot(ctx, e.platform, "root", "平台根证书", keys.SM2SM3, 20); err != nil {
		t.Fatal(err)
	}
	// The issuing organization uses seals too: its own seal signs what it issues.
	user, err := e.svc.CreateOrg(ctx, org.NewOrg{CreditCode: code(t, 6), Name: "发证机关", Region: "610100",
		Kinds: []org.Kind{org.KindSealUser, org.KindIssuer}, Parent: e.platform, Responsible: org.Responsible{Name: "赵六", Phone: "13600000000"}})
	if err != nil {
		t.Fatal(err)
	}
	token := func(home string, r authz.Role) (string, string) {
		acc, err := e.svc.CreateAccount(ctx, org.NewAccount{Org: home, Name: fmt.Sprintf("lic-%s-%s", r, home[8:]), Roles: []authz.Role{r}})
		if err != nil {
			t.Fatal(err)
		}
		secret, _, err := e.svc.IssueToken(ctx, org.NewToken{AccountID: acc.ID})
		if err != nil {
			t.Fatal(err)
		}
		return secret, acc.ID
	}
	le := licenseEnv{env: e, issuerOrg: user.CreditCode, applicationsURL: "/api/v1/orgs/" + user.CreditCode + "/seal-applications"}
	le.issuer, le.issuerID = token(user.CreditCode, authz.Issuer)
	le.admin, _ = token(user.CreditCode, authz.OrgAdmin)
	_, keeperID := token(user.CreditCode, authz.SealKeeper)
	le.approver, _ = token(e.platform, authz.SealApprover)
	le.otherIssuer = e.tokens[authz.Issuer]

	defs, err := catalog.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if d.Type.Code != "PC0001" {
			continue
		}
		le.sample = d.Sample
		d.Type.AnyIssuer, d.Type.Issuers = false, []string{user.CreditCode}
		if _, err := e.p.Catalog.DefineType(ctx, nil, d.Type); err != nil {
			t.Fatal(err)
		}
		if _, err := e.p.Catalog.ProposeVersion(ctx, nil, d.Type.Code, d.Template); err != nil {
			t.Fatal(err)
		}
		e.do(http.MethodPost, "/api/v1/catalog/types/PC0001/versions/1/approve", e.tokens[authz.PlatformAdmin], `{}`).
			want(t, http.StatusOK, "approve PC0001")
	}
	var app api.SealApplication
	e.do(http.MethodPost, le.applicationsURL, le.admin, jsonBody(t, map[string]any{"action": "make", "seal_kind": "license-issuing", "name": "证照专用章",
		"reason": "签发电子证照", "image": seal.SampleImage(), "width_mm": 40, "height_mm": 40, "keepers": []string{keeperID}})).
		want(t, http.StatusCreated, "apply to make the license seal").decode(t, &app)
	e.do(http.MethodPost, "/api/v1/seal-applications/"+app.ID+"/decision", le.approver, `{"approve":true}`).want(t, http.StatusOK, "approve making").decode(t, &app)
	le.sealID = app.SealID
	le.apply(t, "bind")
	return le
}

// apply files an application of action for the seal and has it approved.
func (le licenseEnv) apply(t testing.TB, action string) {
	t.Helper()
	var app api.SealApplication
	le.do(http.MethodPost, le.applicationsURL, le.admin, jsonBody(t, map[string]any{"action": action, "seal_id": le.sealID, "reason": "证照签发"})).
		want(t, http.StatusCreated, "apply to "+action).decode(t, &app)
	le.do(http.MethodPost, "/api/v1/seal-applications/"+app.ID+"/decision", le.approver, `{"approve":true}`).want(t, http.StatusOK, "approve "+action)
}

func (le licenseEnv) permit(t testing.TB, edit func(m map[string]any)) string {
	t.Helper()
	m := map[string]any{"type": "PC0001", "holder_id": "11010519491231002x", "holder_name": "王建国", "face": le.sample}
	if edit != nil {
		edit(m)
	}
	return jsonBody(t, m)
}

// licenseCount is how many licenses the issuing organization has.
func (le licenseEnv) licenseCount(t *testing.T) int {
	t.Helper()
	var p struct {
		Items []api.License `json:"items"`
	}
	le.do(http.MethodGet, "/api/v1/licenses?limit=100", le.issuer, "").want(t, http.StatusOK, "list licenses").decode(t, &p)
	return len(p.Items)
}

// statusTrust is the trust bundle of the API with the platform's own
// status lists, read from the status service, and its approved versions.
type statusTrust struct {
	*verify.Bundle
	le     licenseEnv
	issuer string
	list   int // the number of the issuer's list the license is in
}

func (s statusTrust) Status(ctx context.Context, listURL, purpose string, index int64) (bool, time.Time, error) {
	if !strings.Contains(listURL, s.issuer) {
		return false, time.Time{}, fmt.Errorf("%w: %s", verify.ErrNoStatus, listURL)
	}
	snap, err := s.le.status.List(ctx, s.issuer, s.list, statuslist.Purpose(purpose))
	if err != nil {
		return false, time.Time{}, err
	}
	set, err := snap.Bits.Get(int(index))
	return set, time.Now(), err
}

// TestLicensesOverTheAPI issues a license with its bound seal, reads it,
// lists it by holder, fetches its signed document and verifies it against
// the trust bundle and the status lists; replays an issuance by its
// Idempotency-Key; and refuses every bad input with its field and rule,
// leaving the store unchanged.
func TestLicensesOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		le := newLicenseEnv(t, db)

		first := le.do(http.MethodPost, "/api/v1/licenses", le.issuer, le.permit(t, nil), "Idempotency-Key", "issue-1").
			want(t, http.StatusCreated, "issue")
		var l api.License
		first.decode(t, &l)
		if l.Type != "PC0001" || l.Issuer != le.issuerOrg || l.HolderID != "11010519491231002X" || l.SealID != le.sealID || l.Version != 1 {
			t.Fatalf("issued %+v", l)
		}
		again := le.do(http.MethodPost, "/api/v1/licenses", le.issuer, le.permit(t, nil), "Idempotency-Key", "issue-1")
		if again.status != http.StatusCreated || !bytes.Equal(again.body, first.body) || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %s, want the first answer", again.status, again.body)
		}
		if n := le.licenseCount(t); n != 1 {
			t.Fatalf("%d licenses after a replay, want 1", n)
		}

		var got api.License
		le.do(http.MethodGet, "/api/v1/licenses/"+l.ID, le.issuer, "").want(t, http.StatusOK, "get").decode(t, &got)
		if got.ID != l.ID || got.Number != l.Number {
			t.Fatalf("get %+v, want %+v", got, l)
		}
		le.do(http.MethodGet, "/api/v1/licenses/"+l.ID, le.otherIssuer, "").want(t, http.StatusNotFound, "another organization reads it")
		var p struct {
			Items []api.License `json:"items"`
		}
		le.do(http.MethodGet, "/api/v1/licenses?holder=11010519491231002x&type=PC0001", le.issuer, "").want(t, http.StatusOK, "list by holder").decode(t, &p)
		if len(p.Items) != 1 || p.Items[0].ID != l.ID {
			t.Fatalf("list by holder: %+v", p.Items)
		}

		doc := le.do(http.MethodGet, "/api/v1/licenses/"+l.ID+"/document", le.issuer, "").want(t, http.StatusOK, "document")
		if ct := doc.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("document Content-Type %q", ct)
		}
		var root struct {
			Fingerprint string `json:"fingerprint"`
		}
		le.do(http.MethodGet, "/api/v1/ca/root", le.issuer, "").want(t, http.StatusOK, "platform root").decode(t, &root)
		r := le.do(http.MethodGet, "/api/v1/seals/trust-bundle", le.issuer, "").want(t, http.StatusOK, "trust bundle")
		b, err := verify.OpenBundle(r.body, root.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		b.SetTypeVersions("PC0001", []int64{1})
		if v := verify.License(ctx, doc.body, statusTrust{Bundle: b, le: le, issuer: le.issuerOrg, list: l.StatusList}, time.Now()); !v.Valid {
			t.Fatalf("verdict %+v, want valid", v)
		}

		from := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Second)
		cases := []struct {
			name   string
			token  string
			edit   func(m map[string]any)
			status int
			field  string
			rule   string
		}{
			{"unknown type", le.issuer, func(m map[string]any) { m["type"] = "XX0001" }, http.StatusUnprocessableEntity, "type", "exists"},
			{"unknown version", le.issuer, func(m map[string]any) { m["type_version"] = 7 }, http.StatusUnprocessableEntity, "type_version", "exists"},
			{"field not in the template", le.issuer, func(m map[string]any) {
				m["face"] = json.RawMessage(strings.TrimSuffix(string(le.sample), "}") + `,"nickname":"小王"}`)
			}, http.StatusUnprocessableEntity, "face.nickname", "unknown-field"},
			{"missing required field", le.issuer, func(m map[string]any) {
				var f map[string]any
				_ = json.Unmarshal(le.sample, &f)
				delete(f, "birth_date")
				m["face"] = f
			}, http.StatusUnprocessableEntity, "face.birth_date", "required"},
			{"valid until before valid from", le.issuer, func(m map[string]any) {
				m["valid_from"], m["valid_until"] = from, from.Add(-time.Hour)
			}, http.StatusUnprocessableEntity, "valid_until", "after-valid-from"},
			{"wrong check character", le.issuer, func(m map[string]any) { m["holder_id"] = "110105194912310021" },
				http.StatusUnprocessableEntity, "holder_id", "check-character"},
			{"another organization's type", le.otherIssuer, nil, http.StatusForbidden, "type", "own-org"},
		}
		before := le.licenseCount(t)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				res := le.do(http.MethodPost, "/api/v1/licenses", c.token, le.permit(t, c.edit)).want(t, c.status, c.name)
				pr := res.problem(t)
				if c.field != "" && !namesField(pr, c.field, c.rule) {
					t.Errorf("problem names %+v, want %s/%s", pr.Errors, c.field, c.rule)
				}
			})
		}

		// A suspended seal and an unbound one do not sign.
		le.apply(t, "suspend")
		pr := le.do(http.MethodPost, "/api/v1/licenses", le.issuer, le.permit(t, nil)).want(t, http.StatusConflict, "suspended seal").problem(t)
		if !namesField(pr, "seal_id", "seal-suspended") {
			t.Errorf("problem names %+v, want seal_id/seal-suspended", pr.Errors)
		}
		le.apply(t, "restore")
		le.apply(t, "unbind")
		pr = le.do(http.MethodPost, "/api/v1/licenses", le.issuer, le.permit(t, nil)).want(t, http.StatusConflict, "unbound seal").problem(t)
		if !namesField(pr, "seal_id", "seal-not-bound") {
			t.Errorf("problem names %+v, want seal_id/seal-not-bound", pr.Errors)
		}
		if n := le.licenseCount(t); n != before {
			t.Errorf("refusals stored licenses: %d -> %d", before, n)
		}
	})
}

// TestConcurrentIssuanceOverTheAPI issues 32 licenses at once from two
// processes on one store: no 5xx, no identifier or number twice.
func TestConcurrentIssuanceOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := newLicenseEnv(t, db)
		second := newProcess(t, db, time.Now)
		const n = 32
		var wg sync.WaitGroup
		out := make([]response, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h := le.h
				if i%2 == 1 {
					h = second.h
				}
				req, _ := http.NewRequest(http.MethodPost, "/api/v1/licenses", strings.NewReader(le.permit(t, nil)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+le.issuer)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				out[i] = response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
			}()
		}
		wg.Wait()
		ids, numbers := map[string]bool{}, map[string]bool{}
		for i, r := range out {
			if r.status != http.StatusCreated {
				t.Fatalf("issuance %d: %d %s", i, r.status, r.body)
			}
			var l api.License
			r.decode(t, &l)
			if ids[l.ID] || numbers[l.Number] {
				t.Fatalf("duplicate identifier %s or number %s", l.ID, l.Number)
			}
			ids[l.ID], numbers[l.Number] = true, true
		}
		t.Logf("%s: %d concurrent issuances over two processes, %d store retries", db.Dialect(), n, db.Retries())
	})
}

// TestLicenseLifecycleOverTheAPI suspends a license (replayed by its
// Idempotency-Key), is refused a pledge with 409 naming the state,
// resumes it, changes its face (a new version; the old document stays
// readable and its index is revoked), revokes it and reads its history
// page by page.
func TestLicenseLifecycleOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		le := newLicenseEnv(t, db)
		var l api.License
		le.do(http.MethodPost, "/api/v1/licenses", le.issuer, le.permit(t, nil)).want(t, http.StatusCreated, "issue").decode(t, &l)
		url := "/api/v1/licenses/" + l.ID + "/transitions"
		body := func(op string, extra map[string]any) string {
			m := map[string]any{"operation": op, "reason": "依法" + op}
			for k, v := range extra {
				m[k] = v
			}
			return jsonBody(t, m)
		}
		bit := func(index int, purpose statuslist.Purpose) bool {
			t.Helper()
			snap, err := le.status.List(ctx, le.issuerOrg, l.StatusList, purpose)
			if err != nil {
				t.Fatal(err)
			}
			set, err := snap.Bits.Get(index)
			if err != nil {
				t.Fatal(err)
			}
			return set
		}

		first := le.do(http.MethodPost, url, le.issuer, body("suspend", nil), "Idempotency-Key", "suspend-1").want(t, http.StatusOK, "suspend")
		var got api.License
		first.decode(t, &got)
		if got.State != "suspended" || got.Version != 1 || !bit(got.StatusIndex, statuslist.PurposeSuspension) {
			t.Fatalf("suspended: %+v", got)
		}
		again := le.do(http.MethodPost, url, le.issuer, body("suspend", nil), "Idempotency-Key", "suspend-1")
		if again.status != http.StatusOK || !bytes.Equal(again.body, first.body) || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %s, want the first answer", again.status, again.body)
		}
		pr := le.do(http.MethodPost, url, le.issuer, body("pledge", nil)).want(t, http.StatusConflict, "pledge a suspended license").problem(t)
		if !namesField(pr, "operation", "transition") || !strings.Contains(pr.Detail, "is suspended") {
			t.Errorf("problem %+v, want operation/transition naming suspended", pr)
		}
		le.do(http.MethodPost, url, le.issuer, body("resume", nil)).want(t, http.StatusOK, "resume").decode(t, &got)
		if got.State != "active" || bit(got.StatusIndex, statuslist.PurposeSuspension) {
			t.Fatalf("resumed: %+v", got)
		}

		var face map[string]any
		if err := json.Unmarshal(le.sample, &face); err != nil {
			t.Fatal(err)
		}
		face["name"] = "王建军"
		le.do(http.MethodPost, url, le.issuer, body("change", map[string]any{"face": face})).want(t, http.StatusOK, "change").decode(t, &got)
		if got.Version != 2 || got.StatusIndex == l.StatusIndex || got.State != "active" {
			t.Fatalf("changed: %+v", got)
		}
		old := le.do(http.MethodGet, "/api/v1/licenses/"+l.ID+"/versions/1/document", le.issuer, "").want(t, http.StatusOK, "version 1")
		current := le.do(http.MethodGet, "/api/v1/licenses/"+l.ID+"/document", le.issuer, "").want(t, http.StatusOK, "current document")
		v2 := le.do(http.MethodGet, "/api/v1/licenses/"+l.ID+"/versions/2/document", le.issuer, "").want(t, http.StatusOK, "version 2")
		if bytes.Equal(old.body, current.body) || !bytes.Equal(v2.body, current.body) || !strings.Contains(string(current.body), "王建军") {
			t.Errorf("version documents: old %d bytes, current %d, version 2 %d", len(old.body), len(current.body), len(v2.body))
		}
		le.do(http.MethodGet, "/api/v1/licenses/"+l.ID+"/versions/3/document", le.issuer, "").want(t, http.StatusNotFound, "version 3")
		if !bit(l.StatusIndex, statuslist.PurposeRevocation) || bit(got.StatusIndex, statuslist.PurposeRevocation) {
			t.Errorf("after the change: version 1 revoked %v, version 2 revoked %v", bit(l.StatusIndex, statuslist.PurposeRevocation),
				bit(got.StatusIndex, statuslist.PurposeRevocation))
		}

		le.do(http.MethodPost, url, le.otherIssuer, body("revoke", nil)).want(t, http.StatusNotFound, "another organization revokes")
		pr = le.do(http.MethodPost, url, le.issuer, `{"operation":"revoke","reason":""}`).want(t, http.StatusUnprocessableEntity, "no reason").problem(t)
		if !namesField(pr, "reason", "required") {
			t.Errorf("problem names %+v, want reason/required", pr.Errors)
		}
		le.do(http.MethodPost, url, le.issuer, body("revoke", nil)).want(t, http.StatusOK, "revoke").decode(t, &got)
		if got.State != "revoked" || !bit(got.StatusIndex, statuslist.PurposeRevocation) {
			t.Fatalf("revoked: %+v", got)
		}
		pr = le.do(http.MethodPost, url, le.issuer, body("resume", nil)).want(t, http.StatusConflict, "resume a revoked license").problem(t)
		if !strings.Contains(pr.Detail, "is revoked") {
			t.Errorf("problem %+v, want the state revoked named", pr)
		}

		var ops []string
		next := url + "?limit=2"
		for next != "" {
			var p api.Page[api.LicenseTransition]
			le.do(http.MethodGet, next, le.issuer, "").want(t, http.StatusOK, "history").decode(t, &p)
			for _, r := range p.Items {
				ops = append(ops, r.Operation+":"+r.From+">"+r.To)
			}
			next = ""
			if p.NextCursor != "" {
				next = url + "?limit=2&cursor=" + p.NextCursor
			}
		}
		want := []string{"suspend:active>suspended", "resume:suspended>active", "change:active>active", "revoke:active>revoked"}
		if !slices.Equal(ops, want) {
			t.Errorf("history %v, want %v", ops, want)
		}
	})
}
