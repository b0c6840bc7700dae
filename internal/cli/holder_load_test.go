package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// TestHolderWritesAcrossServeProcesses drives a holder's writes through
// two real serve processes sharing one PostgreSQL, 20 clients at a time,
// half through each: distinct grants are all made; one Idempotency-Key
// makes one grant; one grant is withdrawn once; one license is reported
// lost once; one reissue request is filed once and refused once. No
// request fails with a 5xx.
func TestHolderWritesAcrossServeProcesses(t *testing.T) {
	const racers = 20
	if testing.Short() {
		t.Skip("load test")
	}
	p := issueOnPostgres(t)
	data, dsn, issuerToken, l := p.data, p.dsn, p.issuerToken, p.license
	bank := seedPermitMatters(t, data, dsn, racers)
	serve := []string{"--data", data, "--db", dsn, "--public-url", platform.DefaultPublicURL, "--holder-demo-login"}
	servers := []*serveProcess{startServe(t, serve...), startServe(t, serve...)}
	defer func() {
		for _, s := range servers {
			s.stop(t)
		}
	}()
	h := httpClient{t: t, c: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: racers}}}
	var session api.HolderSession
	if status, body, err := h.call(servers[0].addr, "", http.MethodPost, "/api/v1/holder/demo-login",
		api.HolderDemoLogin{CitizenID: "11010519491231002X", Name: "王建国"}, &session); err != nil || status != http.StatusCreated {
		t.Fatalf("demo login: %d %v %s", status, err, body)
	}

	// race sends racers requests at once, alternating between the two
	// processes, and returns the statuses and bodies; a 5xx fails the test.
	race := func(name, token, method, path string, body func(i int) any, header func(i int) (string, string)) ([]int, [][]byte) {
		t.Helper()
		statuses, bodies := make([]int, racers), make([][]byte, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				var b any
				if body != nil {
					b = body(i)
				}
				var hdr []string
				if header != nil {
					k, v := header(i)
					hdr = []string{k, v}
				}
				statuses[i], bodies[i], _ = h.call(servers[i%len(servers)].addr, token, method, path, b, nil, hdr...)
			})
		}
		wg.Wait()
		for i, s := range statuses {
			if s == 0 || s >= 500 {
				t.Fatalf("%s: request %d answered %d: %s\n%s", name, i, s, bodies[i], serverErrors(servers))
			}
		}
		return statuses, bodies
	}
	count := func(statuses []int, want int) int {
		n := 0
		for _, s := range statuses {
			if s == want {
				n++
			}
		}
		return n
	}
	until := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	grant := func(matter string) api.NewAuthorization {
		return api.NewAuthorization{LicenseID: l.ID, Org: bank, Matter: matter, ValidUntil: until, Fields: []string{"name"}}
	}

	// Distinct grants: every one is made.
	statuses, _ := race("distinct grants", session.Token, http.MethodPost, "/api/v1/me/authorizations",
		func(i int) any { return grant(fmt.Sprintf("ZS-%03d", i)) }, nil)
	if n := count(statuses, http.StatusCreated); n != racers {
		t.Fatalf("distinct grants: %d made, want %d: %v", n, racers, statuses)
	}

	// One Idempotency-Key: one grant; the others are replays of it or
	// refused while it is in progress.
	statuses, bodies := race("one key", session.Token, http.MethodPost, "/api/v1/me/authorizations",
		func(int) any { return grant("ZS-ONCE") }, func(int) (string, string) { return "Idempotency-Key", "holder-load-1" })
	ids := map[string]bool{}
	for i, s := range statuses {
		switch s {
		case http.StatusCreated:
			var g api.Authorization
			if err := json.Unmarshal(bodies[i], &g); err != nil {
				t.Fatal(err)
			}
			ids[g.ID] = true
		case http.StatusConflict:
		default:
			t.Fatalf("one key: request %d answered %d: %s", i, s, bodies[i])
		}
	}
	var mine api.Page[api.Authorization]
	if status, body, err := h.call(servers[1].addr, session.Token, http.MethodGet, "/api/v1/me/authorizations?limit=100&license="+l.ID, nil, &mine); err != nil || status != http.StatusOK {
		t.Fatalf("list grants: %d %v %s", status, err, body)
	}
	var once *api.Authorization
	for i, g := range mine.Items {
		if g.Matter == "ZS-ONCE" {
			if once != nil {
				t.Fatalf("one Idempotency-Key made two grants: %s and %s", once.ID, g.ID)
			}
			once = &mine.Items[i]
		}
	}
	if len(mine.Items) != racers+1 || once == nil || len(ids) != 1 || !ids[once.ID] {
		t.Fatalf("after the races: %d grants (want %d), answers named %v, the keyed grant %+v", len(mine.Items), racers+1, ids, once)
	}

	// One withdrawal of one grant, at once from every client: each sees it
	// withdrawn, and it is withdrawn once.
	statuses, bodies = race("withdraw", session.Token, http.MethodPost, "/api/v1/me/authorizations/"+once.ID+"/withdraw", nil, nil)
	var withdrawnAt *time.Time
	for i, s := range statuses {
		var g api.Authorization
		if s != http.StatusOK || json.Unmarshal(bodies[i], &g) != nil || g.State != "withdrawn" || g.WithdrawnAt == nil {
			t.Fatalf("withdraw: request %d answered %d: %s", i, s, bodies[i])
		}
		if withdrawnAt != nil && !g.WithdrawnAt.Equal(*withdrawnAt) {
			t.Fatalf("withdrawn twice: at %s and %s", withdrawnAt, g.WithdrawnAt)
		}
		withdrawnAt = g.WithdrawnAt
	}

	// One loss report wins; the others find the license no longer active.
	path := "/api/v1/me/licenses/" + l.ID
	statuses, _ = race("loss report", session.Token, http.MethodPost, path+"/loss-report",
		func(int) any { return map[string]string{"reason": "钱包丢失"} }, nil)
	if ok, conflict := count(statuses, http.StatusOK), count(statuses, http.StatusConflict); ok != 1 || conflict != racers-1 {
		t.Fatalf("loss report: %d accepted, %d refused, want 1 and %d: %v", ok, conflict, racers-1, statuses)
	}
	var hist api.Page[api.LicenseTransition]
	if status, body, err := h.call(servers[0].addr, issuerToken, http.MethodGet, "/api/v1/licenses/"+l.ID+"/transitions", nil, &hist); err != nil || status != http.StatusOK {
		t.Fatalf("history: %d %v %s", status, err, body)
	}
	lost := 0
	for _, tr := range hist.Items {
		if tr.Operation == "report-lost" {
			lost++
		}
	}
	if lost != 1 {
		t.Fatalf("the history holds %d loss reports, want 1: %+v", lost, hist.Items)
	}

	// One reissue request is filed; one refusal of it wins.
	statuses, bodies = race("reissue request", session.Token, http.MethodPost, path+"/reissue-request",
		func(int) any { return map[string]string{"reason": "请补办"} }, nil)
	if ok, conflict := count(statuses, http.StatusCreated), count(statuses, http.StatusConflict); ok != 1 || conflict != racers-1 {
		t.Fatalf("reissue request: %d filed, %d refused, want 1 and %d: %v", ok, conflict, racers-1, statuses)
	}
	var req api.ReissueRequest
	for i, s := range statuses {
		if s == http.StatusCreated {
			if err := json.Unmarshal(bodies[i], &req); err != nil {
				t.Fatal(err)
			}
		}
	}
	statuses, _ = race("refuse", issuerToken, http.MethodPost, "/api/v1/reissue-requests/"+req.ID+"/refuse",
		func(int) any { return api.ReissueRefusal{Reason: "材料不全"} }, nil)
	if ok, conflict := count(statuses, http.StatusOK), count(statuses, http.StatusConflict); ok != 1 || conflict != racers-1 {
		t.Fatalf("refuse: %d accepted, %d refused, want 1 and %d: %v", ok, conflict, racers-1, statuses)
	}
	t.Logf("grants, a withdrawal, a loss report, a reissue request and its refusal, each raced by %d clients through %d serve processes on one PostgreSQL", racers, len(servers))
}

// seedPermitMatters gives the demo bank n approved matters ZS-000 … and
// ZS-ONCE needing the residence permit, for holders to grant, and returns
// the bank's credit code.
func seedPermitMatters(t *testing.T, data, dsn string, n int) string {
	t.Helper()
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	a := &app{cat: cat, stdout: io.Discard, stderr: io.Discard}
	a.cfg.Data, a.cfg.DB, a.cfg.Lang = data, dsn, "en"
	var bank string
	err = a.withPlatform(context.Background(), func(p *platform.Platform) error {
		ctx := context.Background()
		var staff, reviewer *authz.Actor
		for _, o := range demoOrgs() {
			code, err := ids.NewCreditCode(o.authority, o.category, "610100", o.body)
			if err != nil {
				return err
			}
			for name, roles := range o.accounts {
				acc, err := p.Orgs.EnsureAccount(ctx, code, name, roles)
				if err != nil {
					return err
				}
				actor := &authz.Actor{AccountID: acc.ID, Org: code, Roles: roles}
				switch roles[0] {
				case authz.UsingUnit:
					staff, bank = actor, code
				case authz.PlatformAdmin:
					reviewer = actor
				}
			}
		}
		codes := []string{"ZS-ONCE"}
		for i := range n {
			codes = append(codes, fmt.Sprintf("ZS-%03d", i))
		}
		for _, c := range codes {
			if _, err := p.Use.CreateMatter(ctx, staff, use.NewMatter{Code: c, Content: use.Content{Name: "旅客住宿登记 " + c,
				LegalBasis: "《旅馆业治安管理办法》第六条", Needs: []use.Need{{TypeCode: "PC0001", Fields: []string{"name"}}}}}); err != nil {
				return err
			}
			if _, err := p.Use.Approve(ctx, reviewer, bank, c, 1, ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed matters: %v", err)
	}
	return bank
}
