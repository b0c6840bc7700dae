package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/server"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestRevocationReachesEveryProcess runs two serve processes on one
// PostgreSQL, each with its own token cache, and checks the documented
// bound (server.TokenCacheTTL, docs/operations.md) end to end: a token
// revoked with the command line on the platform host, and the tokens of an
// organization deactivated through the first process's API, are refused by
// both processes once the bound has passed, though both had just accepted
// them. The slack allows for a loaded machine; the fake-clock tests in
// internal/server pin the bound itself.
func TestRevocationReachesEveryProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serve processes")
	}
	base := []string{"--data", t.TempDir(), "--db", storetest.PostgresDSN(t)}
	issuerCode, err := ids.NewCreditCode('1', '1', "350100", "MB000002")
	if err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append(args, base...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return strings.TrimSpace(out)
	}
	cli("org", "create", "--credit-code", "91350100M000100Y43", "--name", "平台", "--region", "350100",
		"--kind", "platform", "--responsible-name", "李四", "--responsible-phone", "13900000000")
	cli("org", "create", "--credit-code", issuerCode, "--name", "发证单位", "--region", "350100",
		"--kind", "issuer", "--responsible-name", "王五", "--responsible-phone", "13700000000")
	admin := cli("token", "create", "--role", "platform-admin")
	auditor := cli("token", "create", "--role", "auditor")
	issuer := cli("token", "create", "--role", "org-admin", "--org", issuerCode)

	servers := []*serveProcess{startServe(t, base...), startServe(t, base...)}
	defer func() {
		for _, s := range servers {
			s.stop(t)
		}
	}()
	client := &http.Client{Timeout: 10 * time.Second}
	call := func(addr, method, path, token, body string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), method, "http://"+addr+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// refusedWithin asks every process until each refuses token, and fails
	// unless all do within the bound and its slack.
	const slack = 3 * time.Second
	refusedWithin := func(token, what string) {
		t.Helper()
		start := time.Now()
		for _, s := range servers {
			for call(s.addr, http.MethodGet, "/api/v1/me", token, "") != http.StatusUnauthorized {
				if time.Since(start) > server.TokenCacheTTL+slack {
					t.Fatalf("%s: serve %s still accepts the token %s later", what, s.addr, time.Since(start))
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		t.Logf("%s: refused by both processes after %s", what, time.Since(start).Round(time.Millisecond))
	}
	for _, s := range servers {
		for _, tok := range []string{auditor, issuer} {
			if got := call(s.addr, http.MethodGet, "/api/v1/me", tok, ""); got != http.StatusOK {
				t.Fatalf("serve %s: a fresh token answered %d", s.addr, got)
			}
		}
	}

	// A revocation made on the platform host, beside both processes.
	code, out, errOut := run(t, append([]string{"token", "list", "--json"}, base...)...)
	if code != 0 {
		t.Fatalf("token list: %s", errOut)
	}
	id := tokenIDOf(t, out, auditor)
	cli("token", "revoke", id)
	refusedWithin(auditor, "token revoked with the command line")

	// A deactivation made through the first process, while both have just
	// accepted (and so remember) the organization's token.
	for _, s := range servers {
		if got := call(s.addr, http.MethodGet, "/api/v1/me", issuer, ""); got != http.StatusOK {
			t.Fatalf("serve %s: the organization's token answered %d before deactivation", s.addr, got)
		}
	}
	if got := call(servers[0].addr, http.MethodPatch, "/api/v1/orgs/"+issuerCode, admin, `{"status":"inactive"}`); got != http.StatusOK {
		t.Fatalf("deactivate: %d", got)
	}
	refusedWithin(issuer, "organization deactivated through the first process")
}

// tokenIDOf finds, in the output of `token list --json`, the ID of the
// token whose secret is given, by its published prefix.
func tokenIDOf(t *testing.T, listJSON, secret string) string {
	t.Helper()
	var list struct {
		Items []struct {
			ID     string `json:"id"`
			Prefix string `json:"prefix"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(listJSON), &list); err != nil {
		t.Fatalf("token list: %v: %s", err, listJSON)
	}
	for _, it := range list.Items {
		if it.Prefix != "" && strings.HasPrefix(secret, it.Prefix) {
			return it.ID
		}
	}
	t.Fatalf("no token of prefix %.9s in %s", secret, listJSON)
	return ""
}
