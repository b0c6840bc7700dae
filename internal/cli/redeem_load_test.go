package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// pgLicense is a license issued through the command line into a fresh
// data directory on the test PostgreSQL, for the tests that then start
// serve processes on it.
type pgLicense struct {
	data, dsn   string
	issuer      string // the issuing organization's credit code
	issuerToken string // a token of its issuer account
	license     api.License
	must        func(args ...string) string // runs a command there; anything but exit 0 fails the test
}

func issueOnPostgres(t *testing.T) pgLicense {
	t.Helper()
	p := pgLicense{dsn: storetest.PostgresDSN(t), data: t.TempDir()}
	cmd := func(args ...string) (int, string, string) {
		return run(t, append(args, "--data", p.data, "--db", p.dsn, "--lang", "en")...)
	}
	p.must = func(args ...string) string {
		t.Helper()
		code, out, errOut := cmd(args...)
		if code != 0 {
			t.Fatalf("zhengzhao %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return strings.TrimSpace(out)
	}
	var face json.RawMessage
	p.issuer, face = seedIssuer(t, cmd, p.data, p.dsn)
	p.issuerToken = p.must("token", "create", "--role", "issuer", "--org", p.issuer)
	out := p.must("license", "issue", "--issuer", p.issuer, "--type", "PC0001", "--holder-id", "11010519491231002X",
		"--holder-name", "王建国", "--face", string(face), "--json")
	if err := json.Unmarshal([]byte(out), &p.license); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRedemptionAcrossServeProcesses redeems payloads through two real
// serve processes sharing one PostgreSQL, 20 clients racing on each
// payload, half through each process: each payload is accepted exactly
// once, every other redemption of it refused as replayed.
func TestRedemptionAcrossServeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	p := issueOnPostgres(t)
	data, dsn, l, must := p.data, p.dsn, p.license, p.must
	unit := must("token", "create", "--role", "using-unit", "--org", p.issuer)
	const payloads, racers = 6, 20
	var ps []string
	for range payloads {
		ps = append(ps, must("license", "present", "--ttl", "5m", l.ID))
	}

	// The licenses name their status lists below the default public URL,
	// where the command line issued them; both processes publish there.
	serve := []string{"--data", data, "--db", dsn, "--public-url", platform.DefaultPublicURL}
	servers := []*serveProcess{startServe(t, serve...), startServe(t, serve...)}
	h := httpClient{t: t, c: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: racers}}}
	type answer struct {
		status int
		valid  bool
		last   string
		err    error
	}
	answers := make([][]answer, payloads)
	var wg sync.WaitGroup
	for i, p := range ps {
		answers[i] = make([]answer, racers)
		for r := range racers {
			wg.Go(func() {
				var v struct {
					Valid  bool `json:"valid"`
					Checks []struct {
						Name string `json:"name"`
					} `json:"checks"`
				}
				status, _, err := h.call(servers[r%len(servers)].addr, unit, http.MethodPost, "/api/v1/presentations/verify",
					api.RedeemPresentation{Payload: p, Matter: fmt.Sprintf("负载测试 %d", i)}, &v)
				a := answer{status: status, valid: v.Valid, err: err}
				if len(v.Checks) > 0 {
					a.last = v.Checks[len(v.Checks)-1].Name
				}
				answers[i][r] = a
			})
		}
	}
	wg.Wait()
	for _, s := range servers {
		s.stop(t)
	}
	for i, as := range answers {
		valid, replayed := 0, 0
		for _, a := range as {
			switch {
			case a.err != nil || a.status != http.StatusOK:
				t.Fatalf("payload %d: %d %v", i, a.status, a.err)
			case a.valid:
				valid++
			case a.last == "replay":
				replayed++
			}
		}
		if valid != 1 || replayed != racers-1 {
			t.Fatalf("payload %d through two processes: %d valid, %d replayed, want 1 and %d: %+v", i, valid, replayed, racers-1, as)
		}
	}
	t.Logf("%d payloads, each redeemed by %d racing clients through %d serve processes on one PostgreSQL: each accepted once", payloads, racers, len(servers))
}
