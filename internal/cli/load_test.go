package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// envServe makes the test binary run `zhengzhao` with the JSON-encoded
// arguments it holds instead of the tests: the load test starts real serve
// processes from it without building the command first.
const envServe = "ZHENGZHAO_TEST_SERVE_ARGS"

func TestMain(m *testing.M) {
	if raw := os.Getenv(envServe); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			fmt.Fprintln(os.Stderr, envServe+":", err)
			os.Exit(2)
		}
		os.Exit(Main(context.Background(), args, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// serveProcess is a `zhengzhao serve` process started by a test.
type serveProcess struct {
	cmd     *exec.Cmd
	addr    string
	stderr  *syncBuffer
	done    chan error
	stopped bool // stop has seen it exit
}

// startServe starts serve as a process of its own on a loopback port and
// waits until it answers. The test's cleanup kills it if the test did not
// stop it.
func startServe(t *testing.T, args ...string) *serveProcess {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	all := append([]string{"serve", "--addr", "127.0.0.1:0", "--addr-file", addrFile, "--lang", "en"}, args...)
	raw, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProcess{stderr: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(os.Args[0], "-test.run=^$") //nolint:gosec // G204: the test binary itself, re-run as serve
	p.cmd.Env = append(os.Environ(), envServe+"="+string(raw))
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if !p.stopped {
			_ = p.cmd.Process.Kill()
			err := <-p.done
			t.Errorf("serve process %d was still running at the end of the test; killed (%v)", p.cmd.Process.Pid, err)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for p.addr == "" {
		if b, err := os.ReadFile(addrFile); err == nil && len(b) > 0 {
			p.addr = strings.TrimSpace(string(b))
			break
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("serve exited before listening (%v): %s", err, p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", p.stderr.String())
		}
	}
	return p
}

// serverErrors returns the log lines of the processes that are not plain
// access logs of a successful request: what a failed load test needs to say
// why, since the processes are killed when it stops.
func serverErrors(ps []*serveProcess) string {
	var b strings.Builder
	for _, p := range ps {
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) {
				fmt.Fprintf(&b, "%s: %s\n", p.addr, line)
			}
		}
	}
	return b.String()
}

// stop sends SIGTERM and checks that serve stops cleanly and in time.
func (p *serveProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.stopped = true
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("serve %s stopped with %v: %s", p.addr, err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		err := <-p.done
		t.Errorf("serve %s did not stop within 30 s of SIGTERM; killed (%v)", p.addr, err)
	}
}

// TestAuditedWritesUnderLoad has 64 clients create organizations and issue
// tokens through the HTTP API at once, against one serve on each store and
// two serve processes sharing one PostgreSQL: no request fails, every
// created thing has exactly one audit entry, the integrators leave no entry
// behind, the indices are contiguous and the log checks.
func TestAuditedWritesUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	for _, c := range []struct {
		name      string
		postgres  bool
		processes int
	}{
		{"sqlite", false, 1},
		{"postgres", true, 1},
		{"postgres-two-processes", true, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			data, dsn := t.TempDir(), ""
			if c.postgres {
				dsn = storetest.PostgresDSN(t)
			}
			base := []string{"--data", data}
			if dsn != "" {
				base = append(base, "--db", dsn)
			}
			loadTest(t, base, dsn, data, c.processes)
		})
	}
}

func loadTest(t *testing.T, base []string, dsn, data string, processes int) {
	const clients, each = 64, 6 // half organizations, half tokens
	ctx := context.Background()
	platform := []string{"org", "create", "--credit-code", "91350100M000100Y43", "--name", "平台", "--region", "350100",
		"--kind", "platform", "--responsible-name", "李四", "--responsible-phone", "13900000000"}
	if code, _, errOut := run(t, append(platform, base...)...); code != 0 {
		t.Fatalf("org create: %s", errOut)
	}
	code, out, errOut := run(t, append([]string{"token", "create", "--role", "platform-admin"}, base...)...)
	if code != 0 {
		t.Fatalf("token create: %s", errOut)
	}
	token := strings.TrimSpace(out)

	servers := make([]*serveProcess, processes)
	for i := range servers {
		servers[i] = startServe(t, base...)
	}
	h := httpClient{t: t, c: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}}
	call := func(addr, method, path string, body any) (int, []byte, error) {
		return h.call(addr, token, method, path, body, nil)
	}
	status, body, err := call(servers[0].addr, http.MethodGet, "/api/v1/me", nil)
	var me struct {
		AccountID string `json:"account_id"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &me) != nil {
		t.Fatalf("me: %d %s %v", status, body, err)
	}

	var mu sync.Mutex
	var failures []string
	created := map[string]string{} // subject → action
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			addr := servers[c%len(servers)].addr
			for i := range each {
				n := c*each + i
				var path, action string
				var in any
				if i%2 == 0 {
					code, err := ids.NewCreditCode('9', '1', "350100", fmt.Sprintf("%08d", n))
					if err != nil {
						mu.Lock()
						failures = append(failures, err.Error())
						mu.Unlock()
						return
					}
					path, action = "/api/v1/orgs", "org.created"
					in = map[string]any{"credit_code": code, "name": fmt.Sprintf("单位 %d", n), "region": "350100", "kinds": []string{"issuer"},
						"responsible": map[string]string{"name": "王五", "phone": "13900000000"}}
				} else {
					path, action = "/api/v1/tokens", "token.issued"
					in = map[string]any{"account_id": me.AccountID, "ttl": "1d", "description": fmt.Sprint(n)}
				}
				status, body, err := call(addr, http.MethodPost, path, in)
				var res struct {
					CreditCode string `json:"credit_code"`
					ID         string `json:"id"`
				}
				mu.Lock()
				switch {
				case err != nil || status != http.StatusCreated || json.Unmarshal(body, &res) != nil:
					failures = append(failures, fmt.Sprintf("POST %s: %d %s %v", path, status, body, err))
				case res.CreditCode != "":
					created[res.CreditCode] = action
				default:
					created[res.ID] = action
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed; first: %s", len(failures), clients*each, failures[0])
	}

	// The serve processes' integrators take every entry while they run.
	db, err := store.Open(ctx, dsn, data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pending, err := db.AuditPending(ctx, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("entries still waiting for integration 30 s after the last request")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, s := range servers {
		s.stop(t)
	}

	tree, err := auditlog.Check(ctx, db)
	if err != nil {
		t.Fatalf("audit check: %v", err)
	}
	entries, _, err := db.AuditEntries(ctx, 0, tree.Size)
	if err != nil {
		t.Fatal(err)
	}
	logged := map[string]int{}
	for i, e := range entries {
		if e.Index != uint64(i) {
			t.Fatalf("entry %d has index %d", i, e.Index)
		}
		if e.Action == "org.created" || e.Action == "token.issued" {
			logged[e.Subject]++
		}
	}
	for subject, action := range created {
		if logged[subject] != 1 {
			t.Errorf("%s %s has %d audit entries, want 1", action, subject, logged[subject])
		}
	}
	// The platform organization and the first token were created by the
	// commands before serve.
	if want := len(created) + 2; len(logged) != want {
		t.Errorf("%d created things have audit entries, want %d", len(logged), want)
	}
	if code, out, errOut := run(t, append([]string{"audit", "check"}, base...)...); code != 0 {
		t.Errorf("zhengzhao audit check: exit %d: %s %s", code, out, errOut)
	}
}
