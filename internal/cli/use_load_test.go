package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/platform"
)

// TestUseAcrossServeProcesses drives a using unit's writes through two
// real serve processes sharing one PostgreSQL, 20 clients at a time, half
// through each: distinct matters are all listed, one code once; one
// version is approved once; one type is granted once; 20 uses for one case
// all answer and are all kept with it; one license of one use is attached
// to a case once, however many ask. The rows afterwards are exactly those,
// read with the command line (use matter list, use grant list, use case,
// use report), and no request fails with a 5xx.
func TestUseAcrossServeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	p := issueOnPostgres(t)
	code := func(authority, category byte, body string) string {
		c, err := ids.NewCreditCode(authority, category, "610100", body)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	plat, bank := code('1', '1', "MB000001"), code('9', '1', "MA000001")
	admin := p.must("token", "create", "--role", "platform-admin", "--org", plat)
	staff := p.must("token", "create", "--role", "using-unit", "--org", bank)
	serve := []string{"--data", p.data, "--db", p.dsn, "--public-url", platform.DefaultPublicURL}
	servers := []*serveProcess{startServe(t, serve...), startServe(t, serve...)}
	defer func() {
		for _, s := range servers {
			s.stop(t)
		}
	}()
	const racers = 20
	h := httpClient{t: t, c: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: racers}}}
	// race sends racers requests at once, alternating between the two
	// processes; a 5xx fails the test.
	race := func(name, token, method, path string, body func(i int) any) ([]int, [][]byte) {
		t.Helper()
		statuses, bodies := make([]int, racers), make([][]byte, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				statuses[i], bodies[i], _ = h.call(servers[i%len(servers)].addr, token, method, path, body(i), nil)
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
	want := func(name string, statuses []int, counts map[int]int) {
		t.Helper()
		got := map[int]int{}
		for _, s := range statuses {
			got[s]++
		}
		if fmt.Sprint(got) != fmt.Sprint(counts) {
			t.Fatalf("%s: answers %v, want %v", name, got, counts)
		}
	}
	content := api.MatterContent{Name: "旅客住宿登记", LegalBasis: "《旅馆业治安管理办法》第六条",
		Needs: []api.MatterNeed{{Type: "PC0001", Fields: []string{"name"}}}}
	matter := func(code string) any { return api.NewMatter{Code: code, MatterContent: content} }

	statuses, _ := race("distinct matters", staff, http.MethodPost, "/api/v1/use/matters", func(i int) any { return matter(fmt.Sprintf("M-%02d", i)) })
	want("distinct matters", statuses, map[int]int{http.StatusCreated: racers})
	statuses, _ = race("one matter", staff, http.MethodPost, "/api/v1/use/matters", func(int) any { return matter("ZS-01") })
	want("one matter", statuses, map[int]int{http.StatusCreated: 1, http.StatusConflict: racers - 1})
	statuses, _ = race("approve", admin, http.MethodPost, "/api/v1/use/matters/"+bank+"/ZS-01/versions/1/approve", func(int) any { return struct{}{} })
	want("approve", statuses, map[int]int{http.StatusOK: 1, http.StatusConflict: racers - 1})
	statuses, _ = race("grant", admin, http.MethodPost, "/api/v1/use/grants", func(int) any { return api.NewTypeGrant{Org: bank, Type: "PC0001"} })
	want("grant", statuses, map[int]int{http.StatusCreated: 1, http.StatusConflict: racers - 1})

	statuses, bodies := race("uses", staff, http.MethodPost, "/api/v1/uses", func(int) any {
		return api.UseQuery{Matter: "ZS-01", HolderID: "11010519491231002X", Case: "CASE-1"}
	})
	want("uses", statuses, map[int]int{http.StatusOK: racers})
	var first api.UseResult
	for i, b := range bodies {
		var r api.UseResult
		if err := json.Unmarshal(b, &r); err != nil || len(r.Licenses) != 1 || r.Licenses[0].ID != p.license.ID || r.Case != "CASE-1" {
			t.Fatalf("use %d answered %s", i, b)
		}
		if i == 0 {
			first = r
		}
	}
	statuses, bodies = race("attach", staff, http.MethodPost, "/api/v1/use/cases/"+url.PathEscape("（2026）第2号")+"/records", func(int) any {
		return api.CaseAttachment{Use: first.Use, License: p.license.ID}
	})
	want("attach", statuses, map[int]int{http.StatusOK: racers})
	// Every answer is the one record; the index of the use's audit entry
	// is there once the entry is integrated, which may happen between two
	// answers, so only its value, when given, must agree.
	var record api.CaseRecord
	for i, b := range bodies {
		var r api.CaseRecord
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("attachment %d answered %s: %v", i, b, err)
		}
		if r.Entry != nil {
			if record.Entry != nil && *record.Entry != *r.Entry {
				t.Fatalf("attachment %d answered entry %d, another %d", i, *r.Entry, *record.Entry)
			}
			record.Entry = r.Entry
		}
		r.Entry = record.Entry
		if i > 0 && r != record {
			t.Fatalf("attachment %d answered %s, the first %+v", i, b, record)
		}
		if i == 0 {
			record = r
		}
	}

	// The rows, read with the command line on the same store.
	var matters api.Page[api.Matter]
	mustJSON(t, p.must("use", "matter", "list", "--org", bank, "--limit", "100", "--json"), &matters)
	if len(matters.Items) != racers+2 { // and the demo's KH-001
		t.Fatalf("%d matters, want %d", len(matters.Items), racers+2)
	}
	var grants api.Page[api.TypeGrant]
	mustJSON(t, p.must("use", "grant", "list", "--org", bank, "--type", "PC0001", "--json"), &grants)
	if len(grants.Items) != 1 || grants.Items[0].State != "active" {
		t.Fatalf("grants of PC0001: %+v", grants.Items)
	}
	p.must("audit", "check") // integrates every entry
	var case1, case2 api.Page[api.CaseRecord]
	mustJSON(t, p.must("use", "case", bank, "CASE-1", "--limit", "100", "--json"), &case1)
	mustJSON(t, p.must("use", "case", bank, "（2026）第2号", "--json"), &case2)
	uses := map[string]bool{}
	for _, r := range case1.Items {
		if r.Entry == nil || r.License != p.license.ID {
			t.Fatalf("record %+v", r)
		}
		uses[r.Use] = true
	}
	if len(case1.Items) != racers || len(uses) != racers || len(case2.Items) != 1 || case2.Items[0].Use != first.Use || case2.Items[0].Entry == nil {
		t.Fatalf("case 1: %d records of %d uses; case 2: %+v", len(case1.Items), len(uses), case2.Items)
	}
	var report api.UsageReport
	month := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01")
	mustJSON(t, p.must("use", "report", "--from", month, "--issuer", p.issuer, "--json"), &report)
	if len(report.Rows) != 1 || report.Rows[0].Unit != bank || report.Rows[0].Matter != "ZS-01" || report.Rows[0].Uses != racers {
		t.Fatalf("report: %+v", report.Rows)
	}
	code2, _, errOut := run(t, "use", "report", "--from", "2026-13", "--data", p.data, "--db", p.dsn, "--lang", "en")
	if code2 == 0 || !strings.Contains(errOut, "from") || !strings.Contains(errOut, "rule month") {
		t.Fatalf("a bad month: exit %d %q", code2, errOut)
	}
	t.Logf("matters, an approval, a grant, uses for a case and an attachment, each raced by %d clients through %d serve processes on one PostgreSQL", racers, len(servers))
}

// mustJSON decodes out into v or fails the test.
func mustJSON(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}
