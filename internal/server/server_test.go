package server_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/ca"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/page"
	"github.com/zhengzhao/zhengzhao/internal/pki"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/server"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// env is a platform with three organizations and one token per role.
type env struct {
	t        testing.TB
	db       *store.DB
	api      *httpapi.API
	h        http.Handler
	logs     *syncBuffer
	p        *platform.Platform
	svc      *org.Service
	keys     *keyring.Service
	pki      *pki.Service
	status   *status.Service
	platform string // platform org
	orgA     string // issuer org holding the staff roles
	orgB     string // another issuer
	tokens   map[authz.Role]string
}

func code(t testing.TB, n int) string {
	c, err := ids.NewCreditCode('1', '1', "610100", fmt.Sprintf("MB%06d", n))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newProcess is what one serve process builds on a store: the platform,
// its API and handler, with their own memory (the token cache).
func newProcess(t testing.TB, db *store.DB, now func() time.Time) *env {
	t.Helper()
	return newProcessWith(t, db, platform.Options{Clock: now, PublicURL: publicURL})
}

// newProcessWith is newProcess with the platform options o.
func newProcessWith(t testing.TB, db *store.DB, o platform.Options) *env {
	t.Helper()
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.New(db, o)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	web := p.Web(platform.HTTP{Catalog: cat, Log: slog.New(slog.NewJSONHandler(logs, nil)), Registry: prometheus.NewRegistry()})
	return &env{t: t, db: db, p: p, api: web.API, h: web.Handler, logs: logs, svc: p.Orgs, keys: p.Keys, pki: p.PKI, status: p.Status, tokens: map[authz.Role]string{}}
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	return newEnvAt(t, db, time.Now)
}

// newEnvAt is newEnv on a clock.
func newEnvAt(t testing.TB, db *store.DB, now func() time.Time) *env {
	t.Helper()
	ctx := context.Background()
	e := newProcess(t, db, now)
	svc := e.svc
	mk := func(n int, kinds ...org.Kind) string {
		o, err := svc.CreateOrg(ctx, org.NewOrg{CreditCode: code(t, n), Name: fmt.Sprintf("单位%d", n), Region: "610100", Kinds: kinds,
			Responsible: org.Responsible{Name: "王五", Phone: "13700000000"}})
		if err != nil {
			t.Fatal(err)
		}
		return o.CreditCode
	}
	e.platform, e.orgA, e.orgB = mk(1, org.KindPlatform), mk(2, org.KindIssuer), mk(3, org.KindIssuer)
	for _, r := range authz.Roles() {
		home := e.orgA
		if r == authz.PlatformAdmin || r == authz.Auditor {
			home = e.platform
		}
		acc, err := svc.CreateAccount(ctx, org.NewAccount{Org: home, Name: "acc-" + string(r), Roles: []authz.Role{r}})
		if err != nil {
			t.Fatal(err)
		}
		secret, _, err := svc.IssueToken(ctx, org.NewToken{AccountID: acc.ID})
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[r] = secret
	}
	return e
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) problem(t *testing.T) httpapi.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json (body %s)", ct, r.body)
	}
	var p httpapi.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem body %s: %v", r.body, err)
	}
	if p.Status != r.status || p.Title == "" || p.Kind == "" || p.RequestID == "" {
		t.Fatalf("incomplete problem %+v for status %d", p, r.status)
	}
	return p
}

// namesField reports whether the problem names field and the rule it broke,
// with a message for people.
func namesField(p httpapi.Problem, field, rule string) bool {
	for _, f := range p.Errors {
		if f.Field == field && f.Rule == rule && f.Message != "" {
			return true
		}
	}
	return false
}

func (e *env) do(method, path, token, body string, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

type operation struct {
	id, method, path string
	extension        map[string]any
}

func (e *env) operations() []operation {
	doc, err := e.api.OpenAPI()
	if err != nil {
		e.t.Fatal(err)
	}
	var d struct {
		Paths map[string]map[string]struct {
			OperationID string         `json:"operationId"`
			Authz       map[string]any `json:"x-zhengzhao-authz"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		e.t.Fatal(err)
	}
	var ops []operation
	for path, methods := range d.Paths {
		for m, op := range methods {
			ops = append(ops, operation{id: op.OperationID, method: strings.ToUpper(m), path: path, extension: op.Authz})
		}
	}
	slices.SortFunc(ops, func(a, b operation) int { return strings.Compare(a.id, b.id) })
	return ops
}

// TestEveryOperationIsAuthorized walks every operation in the OpenAPI
// document: it must publish its policy; without a token it answers 401;
// with a token of a role it does not grant, 403; with a role granted only
// for the caller's own organization, 403 on another organization; and with
// a granted role, neither.
func TestEveryOperationIsAuthorized(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		staffProbe := e.holderSession(t)
		ops := e.operations()
		if len(ops) < 10 {
			t.Fatalf("only %d operations found", len(ops))
		}
		for _, op := range ops {
			p, ok := e.api.Policies()[op.id]
			if !ok || op.extension == nil {
				t.Errorf("%s: no authorization declaration", op.id)
				continue
			}
			if p.Holder {
				// Only a holder session reaches it; no staff role does.
				if op.extension["holder"] != true {
					t.Errorf("%s: a holder operation, but its declaration says %v", op.id, op.extension)
				}
				url := strings.NewReplacer("{id}", "SC0001-610100-2026-000001-X", "{version}", "1").Replace(op.path)
				body := ""
				if op.method == http.MethodPost {
					body = "{}"
				}
				for _, bad := range []string{"", "zz_not-a-token", "zh_not-a-session"} {
					if r := e.do(op.method, url, bad, body); r.status != http.StatusUnauthorized {
						t.Errorf("%s with token %q: %d, want 401", op.id, bad, r.status)
					}
				}
				for _, role := range authz.Roles() {
					if r := e.do(op.method, url, e.tokens[role], body); r.status != http.StatusForbidden {
						t.Errorf("%s as staff %s: %d, want 403", op.id, role, r.status)
					}
				}
				if r := e.do(op.method, url, e.holderSession(t), body); r.status == http.StatusUnauthorized || r.status == http.StatusForbidden {
					t.Errorf("%s as a holder: %d %s", op.id, r.status, r.body)
				}
				continue
			}
			if p.Public {
				// Anyone may call it; a bad token is not even read.
				if op.extension["public"] != true {
					t.Errorf("%s: public, but its declaration says %v", op.id, op.extension)
				}
				if r := e.do(op.method, strings.NewReplacer("{issuer}", e.orgA, "{number}", "1", "{purpose}", "revocation").Replace(op.path), "zz_not-a-token", ""); r.status == http.StatusUnauthorized || r.status == http.StatusForbidden {
					t.Errorf("public %s with a bad token: %d", op.id, r.status)
				}
				continue
			}
			body := ""
			if op.method == http.MethodPost || op.method == http.MethodPatch {
				body = "{}"
			}
			url := func(target string) string {
				return strings.NewReplacer("{credit_code}", target, "{id}", "tok_000000000000000000000000").Replace(op.path)
			}
			if r := e.do(op.method, url(e.orgA), "", body); r.status != http.StatusUnauthorized {
				t.Errorf("%s without token: %d, want 401", op.id, r.status)
			} else {
				r.problem(t)
			}
			if r := e.do(op.method, url(e.orgA), "zz_not-a-token", body); r.status != http.StatusUnauthorized {
				t.Errorf("%s with a bad token: %d, want 401", op.id, r.status)
			}
			if r := e.do(op.method, url(e.orgA), staffProbe, body); r.status != http.StatusForbidden {
				t.Errorf("%s as a holder: %d, want 403", op.id, r.status)
			}
			for _, role := range authz.Roles() {
				actor := &authz.Actor{Roles: []authz.Role{role}}
				home := e.orgA
				if role == authz.PlatformAdmin || role == authz.Auditor {
					home = e.platform
				}
				r := e.do(op.method, url(home), e.tokens[role], body)
				switch p.Scope(actor) {
				case authz.None:
					if r.status != http.StatusForbidden {
						t.Errorf("%s as %s: %d, want 403", op.id, role, r.status)
					} else if pr := r.problem(t); pr.Kind != "forbidden" {
						t.Errorf("%s as %s: kind %s", op.id, role, pr.Kind)
					}
				default:
					if r.status == http.StatusUnauthorized || r.status == http.StatusForbidden {
						t.Errorf("%s as granted role %s: %d %s", op.id, role, r.status, r.body)
					}
					if p.Scope(actor) == authz.OwnOrg && p.OrgParam != "" {
						if r := e.do(op.method, url(e.orgB), e.tokens[role], body); r.status != http.StatusForbidden {
							t.Errorf("%s as %s on another org: %d, want 403", op.id, role, r.status)
						}
					}
				}
			}
		}
	})
}

func (e *env) orgCount() int {
	e.t.Helper()
	p, err := e.svc.ListOrgs(context.Background(), org.Filter{Limit: page.MaxLimit}, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return len(p.Items)
}

// TestBadInputIsAProblemAndWritesNothing sends malformed and invalid
// requests: each answers problem+json naming the field and the rule, and
// the store keeps exactly what it had.
func TestBadInputIsAProblemAndWritesNothing(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		admin := e.tokens[authz.PlatformAdmin]
		valid := func(edit func(m map[string]any)) string {
			m := map[string]any{"credit_code": code(t, 40), "name": "新单位", "region": "610100", "kinds": []string{"issuer"},
				"responsible": map[string]any{"name": "赵六", "phone": "13600000000"}}
			edit(m)
			b, _ := json.Marshal(m)
			return string(b)
		}
		badCode := code(t, 41)
		if badCode[17] == '0' {
			badCode = badCode[:17] + "1"
		} else {
			badCode = badCode[:17] + "0"
		}
		cases := []struct {
			name, method, path, body string
			ctype                    string
			status                   int
			field, rule              string
		}{
			{"malformed JSON", "POST", "/api/v1/orgs", `{"credit_code":`, "", 400, "$", "json"},
			{"unknown field", "POST", "/api/v1/orgs", valid(func(m map[string]any) { m["colour"] = "red" }), "", 422, "colour", "unknown-field"},
			{"wrong type", "POST", "/api/v1/orgs", valid(func(m map[string]any) { m["name"] = 7 }), "", 422, "name", "type"},
			{"missing field", "POST", "/api/v1/orgs", valid(func(m map[string]any) { delete(m, "region") }), "", 422, "region", "required"},
			{"nested missing", "POST", "/api/v1/orgs", valid(func(m map[string]any) { m["responsible"] = map[string]any{"name": "x"} }), "", 422, "responsible.phone", "required"},
			{"check character", "POST", "/api/v1/orgs", valid(func(m map[string]any) { m["credit_code"] = badCode }), "", 422, "credit_code", "check-character"},
			{"region code", "POST", "/api/v1/orgs", valid(func(m map[string]any) { m["region"] = "990000" }), "", 422, "region", "region"},
			{"kind enum", "POST", "/api/v1/orgs", valid(func(m map[string]any) { m["kinds"] = []string{"bank"} }), "", 422, "kinds[0]", "enum"},
			{"not JSON", "POST", "/api/v1/orgs", valid(func(map[string]any) {}), "application/x-www-form-urlencoded", 415, "Content-Type", "media-type"},
			{"oversized", "POST", "/api/v1/orgs", `{"name":"` + strings.Repeat("a", httpapi.BodyLimit) + `"}`, "", 413, "", ""},
			{"bad limit", "GET", "/api/v1/orgs?limit=100000", "", "", 422, "limit", "range"},
			{"bad cursor", "GET", "/api/v1/orgs?cursor=%21%21", "", "", 422, "cursor", "cursor"},
			{"patch bad phone", "PATCH", "/api/v1/orgs/" + e.orgA, `{"responsible":{"phone":"12"}}`, "", 422, "responsible.phone", "phone"},
		}
		before := e.orgCount()
		orgA, _ := e.svc.GetOrg(context.Background(), e.orgA)
		for _, c := range cases {
			var headers []string
			if c.ctype != "" {
				headers = []string{"Content-Type", c.ctype}
			}
			r := e.do(c.method, c.path, admin, c.body, headers...)
			if r.status != c.status {
				t.Errorf("%s: status %d, want %d (%s)", c.name, r.status, c.status, r.body)
				continue
			}
			p := r.problem(t)
			if c.field == "" {
				continue
			}
			if !namesField(p, c.field, c.rule) {
				t.Errorf("%s: errors %+v do not name %s/%s", c.name, p.Errors, c.field, c.rule)
			}
		}
		if after := e.orgCount(); after != before {
			t.Fatalf("rejected requests changed the store: %d orgs, want %d", after, before)
		}
		if again, _ := e.svc.GetOrg(context.Background(), e.orgA); again.Version != orgA.Version {
			t.Fatalf("a rejected patch changed organization A: version %d, want %d", again.Version, orgA.Version)
		}
		// The language follows Accept-Language.
		r := e.do("POST", "/api/v1/orgs", admin, valid(func(m map[string]any) { m["region"] = "990000" }), "Accept-Language", "en-US,en;q=0.9")
		if p := r.problem(t); p.Title != "The request is invalid" || p.Errors[0].Message != "is not a valid administrative region code" {
			t.Fatalf("English problem: %+v", p)
		}
		r = e.do("POST", "/api/v1/orgs", admin, valid(func(m map[string]any) { m["region"] = "990000" }))
		if p := r.problem(t); p.Title != "请求数据有误" {
			t.Fatalf("default language problem title %q, want zh-CN", p.Title)
		}
	})
}

func TestIdempotencyKey(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		admin := e.tokens[authz.PlatformAdmin]
		body := fmt.Sprintf(`{"credit_code":%q,"name":"幂等单位","region":"610100","kinds":["using-unit"],"responsible":{"name":"钱七","phone":"13500000000"}}`, code(t, 50))
		first := e.do("POST", "/api/v1/orgs", admin, body, "Idempotency-Key", "create-50")
		if first.status != http.StatusCreated {
			t.Fatalf("first: %d %s", first.status, first.body)
		}
		again := e.do("POST", "/api/v1/orgs", admin, body, "Idempotency-Key", "create-50")
		if again.status != http.StatusCreated || !bytes.Equal(again.body, first.body) || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %s, want the first answer", again.status, again.body)
		}
		other := e.do("POST", "/api/v1/orgs", admin, strings.Replace(body, "幂等单位", "别的单位", 1), "Idempotency-Key", "create-50")
		if other.status != http.StatusConflict {
			t.Fatalf("same key, other body: %d, want 409", other.status)
		}
		other.problem(t)
		// Without the key the duplicate is a plain conflict on the credit code.
		if dup := e.do("POST", "/api/v1/orgs", admin, body); dup.status != http.StatusConflict {
			t.Fatalf("duplicate without key: %d, want 409", dup.status)
		}
		// A failed request does not hold its key: the corrected retry goes through.
		bad := strings.Replace(body, code(t, 50), code(t, 51), 1)
		bad = strings.Replace(bad, "13500000000", "1", 1)
		if r := e.do("POST", "/api/v1/orgs", admin, bad, "Idempotency-Key", "create-51"); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("invalid with key: %d", r.status)
		}
		good := strings.Replace(body, code(t, 50), code(t, 51), 1)
		if r := e.do("POST", "/api/v1/orgs", admin, good, "Idempotency-Key", "create-51"); r.status != http.StatusCreated {
			t.Fatalf("corrected retry with the same key: %d %s", r.status, r.body)
		}
		// Keys belong to the caller: another account's identical key is its own.
		orgAdmin := e.tokens[authz.OrgAdmin]
		if r := e.do("POST", "/api/v1/orgs/"+e.orgA+"/accounts", orgAdmin, `{"name":"clerk","roles":["issuer"]}`, "Idempotency-Key", "create-50"); r.status != http.StatusCreated {
			t.Fatalf("another caller's same key: %d %s", r.status, r.body)
		}
	})
}

func TestTokensOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		orgAdmin := e.tokens[authz.OrgAdmin]
		r := e.do("POST", "/api/v1/orgs/"+e.orgA+"/accounts", orgAdmin, `{"name":"robot","roles":["issuer"]}`)
		if r.status != http.StatusCreated {
			t.Fatalf("create account: %d %s", r.status, r.body)
		}
		var acc api.Account
		if err := json.Unmarshal(r.body, &acc); err != nil {
			t.Fatalf("create account: %v in %s", err, r.body)
		}
		if r := e.do("POST", "/api/v1/orgs/"+e.orgA+"/accounts", orgAdmin, `{"name":"boss","roles":["platform-admin"]}`); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("org admin handing out platform-admin: %d", r.status)
		}
		r = e.do("POST", "/api/v1/tokens", orgAdmin, fmt.Sprintf(`{"account_id":%q,"ttl":"1d"}`, acc.ID))
		if r.status != http.StatusCreated {
			t.Fatalf("create token: %d %s", r.status, r.body)
		}
		var tok api.Token
		if err := json.Unmarshal(r.body, &tok); err != nil {
			t.Fatalf("create token: %v in %s", err, r.body)
		}
		if !strings.HasPrefix(tok.Token, tok.Prefix) || tok.ExpiresAt.Sub(tok.CreatedAt) != 24*time.Hour {
			t.Fatalf("token %+v", tok)
		}
		if r := e.do("GET", "/api/v1/me", tok.Token, ""); r.status != http.StatusOK || !strings.Contains(string(r.body), acc.ID) {
			t.Fatalf("me with the new token: %d %s", r.status, r.body)
		}
		list := e.do("GET", "/api/v1/tokens", orgAdmin, "")
		if list.status != http.StatusOK || strings.Contains(string(list.body), tok.Token) || !strings.Contains(string(list.body), tok.ID) {
			t.Fatalf("token list must name the token and never show its secret: %s", list.body)
		}
		if strings.Contains(string(list.body), e.platform) {
			t.Fatalf("an org admin sees tokens of another organization: %s", list.body)
		}
		// An issuer may revoke its own token but not another's.
		if r := e.do("POST", "/api/v1/tokens/"+tok.ID+"/revoke", e.tokens[authz.Issuer], ""); r.status != http.StatusForbidden {
			t.Fatalf("issuer revoking another token: %d", r.status)
		}
		if r := e.do("POST", "/api/v1/tokens/"+tok.ID+"/revoke", tok.Token, ""); r.status != http.StatusOK {
			t.Fatalf("revoking one's own token: %d %s", r.status, r.body)
		}
		if r := e.do("GET", "/api/v1/me", tok.Token, ""); r.status != http.StatusUnauthorized {
			t.Fatalf("revoked token: %d, want 401", r.status)
		}
		// An org admin may change its name but not its kinds or status.
		if r := e.do("PATCH", "/api/v1/orgs/"+e.orgA, orgAdmin, `{"name":"新名称"}`); r.status != http.StatusOK {
			t.Fatalf("org admin renaming: %d %s", r.status, r.body)
		}
		if r := e.do("PATCH", "/api/v1/orgs/"+e.orgA, orgAdmin, `{"status":"inactive"}`); r.status != http.StatusForbidden {
			t.Fatalf("org admin deactivating itself: %d", r.status)
		}
		// Own-org listing shows only the caller's organization.
		r = e.do("GET", "/api/v1/orgs", e.tokens[authz.UsingUnit], "")
		var page struct{ Items []api.Org }
		if err := json.Unmarshal(r.body, &page); err != nil {
			t.Fatalf("list as using unit: %d %s: %v", r.status, r.body, err)
		}
		if r.status != http.StatusOK || len(page.Items) != 1 || page.Items[0].CreditCode != e.orgA {
			t.Fatalf("list as using unit: %d %s, want only organization A", r.status, r.body)
		}
		// Deactivating an organization stops its tokens.
		if r := e.do("PATCH", "/api/v1/orgs/"+e.orgA, e.tokens[authz.PlatformAdmin], `{"status":"inactive"}`); r.status != http.StatusOK {
			t.Fatalf("deactivate: %d %s", r.status, r.body)
		}
		if r := e.do("GET", "/api/v1/me", orgAdmin, ""); r.status != http.StatusUnauthorized {
			t.Fatalf("token of a deactivated org: %d, want 401", r.status)
		}
	})
}

func TestProbesMetricsAndLogs(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	admin := e.tokens[authz.PlatformAdmin]
	if r := e.do("GET", "/healthz", "", ""); r.status != http.StatusOK {
		t.Fatalf("healthz %d", r.status)
	}
	if r := e.do("GET", "/readyz", "", ""); r.status != http.StatusOK {
		t.Fatalf("readyz %d", r.status)
	}
	r := e.do("GET", "/api/v1/me", admin, "", "X-Request-Id", "trace-123")
	if r.header.Get("X-Request-Id") != "trace-123" {
		t.Fatalf("request id not echoed: %q", r.header.Get("X-Request-Id"))
	}
	if r := e.do("GET", "/api/v1/me", admin, "", "X-Request-Id", "bad id with spaces"); len(r.header.Get("X-Request-Id")) != 24 {
		t.Fatalf("a bad request id must be replaced: %q", r.header.Get("X-Request-Id"))
	}
	m := e.do("GET", "/metrics", "", "")
	if !strings.Contains(string(m.body), `zhengzhao_http_requests_total{code="200",method="GET",operation="get-me"}`) {
		t.Fatalf("metrics lack the per-operation counter:\n%s", m.body)
	}
	for _, want := range []string{`zhengzhao_http_request_duration_seconds_bucket{method="GET",operation="get-me",le="0.005"}`,
		`zhengzhao_http_request_duration_seconds_count{method="GET",operation="GET /healthz"}`} {
		if !strings.Contains(string(m.body), want) {
			t.Fatalf("metrics lack the latency histogram %s:\n%s", want, m.body)
		}
	}
	if strings.Contains(string(m.body), `operation="/api/v1/me"`) {
		t.Fatal("metrics are labelled by raw path")
	}
	docs := e.do("GET", "/api/docs", "", "")
	for _, op := range e.operations() {
		if !strings.Contains(string(docs.body), `id="`+op.id+`"`) {
			t.Errorf("docs page lacks %s", op.id)
		}
	}
	if logs := e.logs.String(); strings.Contains(logs, admin) || strings.Contains(logs, admin[len(org.TokenPrefix):]) {
		t.Fatal("a token secret reached the logs")
	} else if !strings.Contains(logs, `"request_id":"trace-123"`) {
		t.Fatalf("access log lacks the request id:\n%s", logs)
	}
	e.db.Close()
	if r := e.do("GET", "/readyz", "", ""); r.status != http.StatusServiceUnavailable {
		t.Fatalf("readyz with a closed store: %d, want 503", r.status)
	} else {
		r.problem(t)
	}
}

func TestKeysOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		k, err := e.keys.Create(ctx, keyring.NewKey{Org: e.platform, Name: "presentation", Purpose: keyring.Presentation})
		if err != nil {
			t.Fatal(err)
		}
		// Anyone with a token may read a public key, to verify signatures.
		r := e.do("GET", "/api/v1/keys/"+k.ID+"/public", e.tokens[authz.UsingUnit], "")
		var pk api.PublicKey
		if r.status != http.StatusOK || json.Unmarshal(r.body, &pk) != nil || pk.PEM != string(k.PublicPEM) || pk.JWK["crv"] != "SM2" || pk.JWK["kid"] != k.ID {
			t.Fatalf("public key: %d %s", r.status, r.body)
		}
		if strings.Contains(string(r.body), "PRIVATE") {
			t.Fatal("a private key left the store")
		}
		// Records are per organization: an issuer of organization A does not see the platform's key.
		if r := e.do("GET", "/api/v1/keys/"+k.ID, e.tokens[authz.Issuer], ""); r.status != http.StatusNotFound {
			t.Fatalf("issuer reading the platform's key record: %d, want 404", r.status)
		}
		if r := e.do("GET", "/api/v1/keys", e.tokens[authz.Issuer], ""); r.status != http.StatusOK || strings.Contains(string(r.body), k.ID) {
			t.Fatalf("issuer listing keys: %d %s", r.status, r.body)
		}
		if r := e.do("GET", "/api/v1/keys?purpose=presentation", e.tokens[authz.Auditor], ""); r.status != http.StatusOK || !strings.Contains(string(r.body), k.ID) {
			t.Fatalf("auditor listing keys: %d %s", r.status, r.body)
		}
	})
}

func TestCertificatesOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		tok := e.tokens[authz.UsingUnit]
		if r := e.do("GET", "/api/v1/ca/root", tok, ""); r.status != http.StatusNotFound {
			t.Fatalf("root before init: %d", r.status)
		}
		root, err := e.pki.InitRoot(ctx, e.platform, "root", "根", keys.SM2SM3, 10)
		if err != nil {
			t.Fatal(err)
		}
		k, err := e.keys.Create(ctx, keyring.NewKey{Org: e.orgA, Name: "seal", Purpose: keyring.Seal})
		if err != nil {
			t.Fatal(err)
		}
		c, err := e.pki.Issue(ctx, pki.IssueRequest{KeyID: k.ID, Kind: pki.Seal})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.pki.Revoke(ctx, c.Serial, 4); err != nil {
			t.Fatal(err)
		}
		var got api.Certificate
		r := e.do("GET", "/api/v1/ca/root", tok, "")
		if r.status != http.StatusOK || json.Unmarshal(r.body, &got) != nil || got.Fingerprint != root.Fingerprint || !strings.HasPrefix(got.PEM, "-----BEGIN CERTIFICATE-----") {
			t.Fatalf("root: %d %s", r.status, r.body)
		}
		r = e.do("GET", "/api/v1/certificates/"+c.Serial, tok, "")
		if r.status != http.StatusOK || json.Unmarshal(r.body, &got) != nil || got.Fingerprint != c.Fingerprint || got.RevokedAt == nil {
			t.Fatalf("certificate by serial: %d %s", r.status, r.body)
		}
		r = e.do("GET", "/api/v1/keys/"+k.ID+"/certificates", tok, "")
		if r.status != http.StatusOK || !strings.Contains(string(r.body), c.Fingerprint) {
			t.Fatalf("certificates of a key: %d %s", r.status, r.body)
		}
		r = e.do("GET", "/api/v1/ca/crl", tok, "")
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/pkix-crl" {
			t.Fatalf("CRL: %d %s", r.status, r.header.Get("Content-Type"))
		}
		crl, err := ca.ParseCRL(r.body)
		if err != nil {
			t.Fatal(err)
		}
		serial, _ := new(big.Int).SetString(c.Serial, 16)
		if revoked, _ := crl.IsRevoked(serial); !revoked {
			t.Fatal("the CRL does not list the revoked certificate")
		}
	})
}

func TestAuditOverTheAPI(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	ctx := context.Background()
	// The checkpoint key is made, and its making logged, on first use.
	r := e.do("GET", "/api/v1/audit/checkpoint-key", e.tokens[authz.UsingUnit], "")
	var key struct {
		VerifierKey string `json:"verifier_key"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &key) != nil {
		t.Fatalf("checkpoint key: %d %s", r.status, r.body)
	}
	if _, err := auditlog.IntegrateAll(ctx, e.db); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", "/api/v1/audit/tree", e.tokens[authz.Auditor], "")
	var tree api.AuditTree
	if r.status != http.StatusOK || json.Unmarshal(r.body, &tree) != nil || tree.Size == 0 {
		t.Fatalf("audit tree after set-up (organizations, accounts, tokens): %d %s", r.status, r.body)
	}
	base := tree.Size
	for i := range 3 {
		err := e.db.WithTx(ctx, func(tx *store.Tx) error {
			return auditlog.Append(ctx, tx, auditlog.Entry{At: time.Now(), Actor: "acc", Action: "test", Subject: fmt.Sprint(i)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Committed and not integrated yet: readable, marked pending, outside
	// the tree.
	r = e.do("GET", fmt.Sprintf("/api/v1/audit/entries?from=%d", base), e.tokens[authz.Auditor], "")
	var listed struct {
		Items   []auditlog.Entry        `json:"items"`
		Pending []api.PendingAuditEntry `json:"pending"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &listed) != nil || len(listed.Items) != 0 || len(listed.Pending) != 3 ||
		!listed.Pending[0].Pending || listed.Pending[0].Subject != "0" || listed.Pending[0].Sequence >= listed.Pending[1].Sequence {
		t.Fatalf("entries waiting for integration: %d %s", r.status, r.body)
	}
	if r = e.do("GET", "/api/v1/audit/tree", e.tokens[authz.Auditor], ""); json.Unmarshal(r.body, &tree) != nil || tree.Size != base {
		t.Fatalf("tree before integration: %s, want size %d", r.body, base)
	}
	if _, err := auditlog.IntegrateAll(ctx, e.db); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", "/api/v1/audit/tree", e.tokens[authz.Auditor], "")
	if r.status != http.StatusOK || json.Unmarshal(r.body, &tree) != nil || tree.Size != base+3 || !tree.Intact || len(tree.Root) != 64 {
		t.Fatalf("audit tree: %d %s, want size %d", r.status, r.body, base+3)
	}
	r = e.do("GET", "/api/v1/audit/entries?from=1&limit=1", e.tokens[authz.Auditor], "")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"index":1`) || !strings.Contains(string(r.body), `"next":2`) {
		t.Fatalf("audit entries: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/audit/checkpoint", e.tokens[authz.UsingUnit], "")
	if _, size, root, err := auditlog.VerifyCheckpoint(r.body, key.VerifierKey); r.status != http.StatusOK || err != nil || size != tree.Size || hex.EncodeToString(root) != tree.Root {
		t.Fatalf("checkpoint: %d %q, %v", r.status, r.body, err)
	}
	r = e.do("GET", fmt.Sprintf("/api/v1/audit/proof/inclusion?index=%d&size=%d", base+1, tree.Size), e.tokens[authz.Auditor], "")
	var ip api.AuditProof
	if r.status != http.StatusOK || json.Unmarshal(r.body, &ip) != nil || ip.Root != tree.Root || len(ip.Proof) == 0 || len(ip.Leaf) == 0 {
		t.Fatalf("inclusion proof: %d %s", r.status, r.body)
	}
	if r := e.do("GET", fmt.Sprintf("/api/v1/audit/proof/inclusion?index=%d", tree.Size), e.tokens[authz.Auditor], ""); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("proof beyond the tree: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/audit/proof/consistency?from=1", e.tokens[authz.Auditor], ""); r.status != http.StatusOK {
		t.Fatalf("consistency proof: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/audit/entries", e.tokens[authz.Issuer], ""); r.status != http.StatusForbidden {
		t.Fatalf("issuer reading the audit log: %d, want 403", r.status)
	}
}

// TestOrgAuditEntries checks that an organization's admin reads the audit
// entries about its own organization only, page by page.
func TestOrgAuditEntries(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	type page struct {
		Items []auditlog.Entry `json:"items"`
		Next  *uint64          `json:"next"`
	}
	read := func(path, token string) (int, page) {
		t.Helper()
		r := e.do("GET", path, token, "")
		var p page
		if r.status == http.StatusOK {
			if err := json.Unmarshal(r.body, &p); err != nil {
				t.Fatal(err)
			}
		}
		return r.status, p
	}
	// Set-up logged the organization, its accounts and their tokens.
	if _, err := auditlog.IntegrateAll(context.Background(), e.db); err != nil {
		t.Fatal(err)
	}
	var all []auditlog.Entry
	path := "/api/v1/orgs/" + e.orgA + "/audit/entries?limit=2"
	for {
		status, p := read(path, e.tokens[authz.OrgAdmin])
		if status != http.StatusOK {
			t.Fatalf("org admin reading its own entries: %d", status)
		}
		all = append(all, p.Items...)
		if p.Next == nil {
			break
		}
		path = fmt.Sprintf("/api/v1/orgs/%s/audit/entries?limit=2&from=%d", e.orgA, *p.Next)
	}
	if len(all) < 3 {
		t.Fatalf("%d entries about %s, want its creation, accounts and tokens", len(all), e.orgA)
	}
	for i, en := range all {
		if en.Org != e.orgA || (i > 0 && en.Index <= all[i-1].Index) {
			t.Fatalf("entry %d: %+v; want entries of %s in index order", i, en, e.orgA)
		}
	}
	if status, _ := read("/api/v1/orgs/"+e.orgB+"/audit/entries", e.tokens[authz.OrgAdmin]); status != http.StatusForbidden {
		t.Fatalf("org admin reading another organization's entries: %d, want 403", status)
	}
	if status, p := read("/api/v1/orgs/"+e.orgB+"/audit/entries", e.tokens[authz.Auditor]); status != http.StatusOK || len(p.Items) == 0 || p.Items[0].Org != e.orgB {
		t.Fatalf("auditor reading %s's entries: %d %+v", e.orgB, status, p.Items)
	}
}

// TestProfiling: the profiles answer on loopback, and an address that is
// not loopback is refused.
func TestProfiling(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if _, err := server.Profiling(context.Background(), "0.0.0.0:0", log); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("profiling on every interface: %v, want refused", err)
	}
	logs := &syncBuffer{}
	stop, err := server.Profiling(context.Background(), "127.0.0.1:0", slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	var line struct{ Addr string }
	if err := json.Unmarshal([]byte(strings.SplitN(logs.String(), "\n", 2)[0]), &line); err != nil || line.Addr == "" {
		t.Fatalf("no address logged: %q", logs.String())
	}
	resp, err := http.Get("http://" + line.Addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile") {
		t.Fatalf("goroutine profile: %d %.200s", resp.StatusCode, body)
	}
}
