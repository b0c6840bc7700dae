package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// httpClient calls the API of serve processes started by a test.
type httpClient struct {
	t *testing.T
	c *http.Client
}

// call sends body (JSON-encoded when not nil) with token (none when empty)
// and the header's name-value pairs, and decodes a 2xx answer into out when
// out is not nil. It returns the status and the body.
func (h httpClient) call(addr, token, method, path string, body, out any, header ...string) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, "http://"+addr+path, r)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := h.c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && out != nil && resp.StatusCode/100 == 2 {
		err = json.Unmarshal(b, out)
	}
	return resp.StatusCode, b, err
}

// must is call for the set-up steps: anything but want stops the test.
func (h httpClient) must(addr, token, method, path string, body, out any, want int) {
	h.t.Helper()
	status, b, err := h.call(addr, token, method, path, body, out)
	if err != nil || status != want {
		h.t.Fatalf("%s %s: %d %s %v (want %d)", method, path, status, b, err, want)
	}
}

// TestLicenseIssuanceAcrossServeProcesses issues licenses from many
// clients through two real serve processes sharing one PostgreSQL: every
// request succeeds, and no identifier or license number is given twice;
// the clients then suspend them all, and of 20 clients racing to revoke one
// license through both processes exactly one succeeds.
// The issuer's license-issuing seal is made and bound, and the type
// defined and approved, through the same API first.
func TestLicenseIssuanceAcrossServeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	dsn := storetest.PostgresDSN(t)
	base := []string{"--data", t.TempDir(), "--db", dsn}
	cmd := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append(args, base...)...)
		if code != 0 {
			t.Fatalf("zhengzhao %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return strings.TrimSpace(out)
	}
	const platform, issuerOrg = "91350100M000100Y43", "11350100003000022L"
	cmd("org", "create", "--credit-code", platform, "--name", "平台", "--region", "350100", "--kind", "platform",
		"--responsible-name", "李四", "--responsible-phone", "13900000000")
	cmd("org", "create", "--credit-code", issuerOrg, "--name", "福州市市场监督管理局", "--region", "350100", "--kind", "issuer",
		"--kind", "seal-user", "--parent", platform, "--responsible-name", "张三", "--responsible-phone", "13900000001")
	cmd("ca", "init")
	admin := cmd("token", "create", "--role", "platform-admin")
	approver := cmd("token", "create", "--role", "seal-approver")
	orgAdmin := cmd("token", "create", "--role", "org-admin", "--org", issuerOrg)
	keeper := cmd("token", "create", "--role", "seal-keeper", "--org", issuerOrg)
	issuer := cmd("token", "create", "--role", "issuer", "--org", issuerOrg)

	servers := []*serveProcess{startServe(t, base...), startServe(t, base...)}
	const clients, each = 32, 4
	h := httpClient{t: t, c: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}}
	first := servers[0].addr

	// The type: defined by the issuer for its own organization, its
	// template approved by a platform admin.
	h.must(first, issuer, http.MethodPost, "/api/v1/catalog/types", map[string]any{
		"code": "TP0001", "name": map[string]string{"zh-CN": "演示许可证", "en": "Demo permit"}, "issuers": []string{issuerOrg},
		"holder_kind": "organization", "level": "municipal", "public": "shared", "collection_start": "2020-01-01",
		"validity": map[string]any{"kind": "fixed", "years": 5}, "numbering": "{region}{year}{seq:6}"}, nil, http.StatusCreated)
	h.must(first, issuer, http.MethodPost, "/api/v1/catalog/types/TP0001/versions", map[string]any{"template": map[string]any{
		"fields": []map[string]any{{"key": "name", "label": map[string]string{"zh-CN": "名称", "en": "Name"}, "type": "string",
			"required": true, "max_length": 100, "sensitivity": "public", "masking": map[string]string{"rule": "none"}}}}}, nil, http.StatusCreated)
	h.must(first, admin, http.MethodPost, "/api/v1/catalog/types/TP0001/versions/1/approve", map[string]any{}, nil, http.StatusOK)

	// The seal: made on the organization's application, then bound to
	// issuance by a second application, each approved by the platform.
	var me struct {
		AccountID string `json:"account_id"`
	}
	h.must(first, keeper, http.MethodGet, "/api/v1/me", nil, &me, http.StatusOK)
	var app struct {
		ID     string `json:"id"`
		SealID string `json:"seal_id"`
	}
	apps := "/api/v1/orgs/" + issuerOrg + "/seal-applications"
	h.must(first, orgAdmin, http.MethodPost, apps, map[string]any{"action": "make", "seal_kind": string(seal.LicenseIssuing), "name": "证照专用章",
		"reason": "签发电子证照", "image": seal.SampleImage(), "width_mm": 40, "height_mm": 40, "keepers": []string{me.AccountID}}, &app, http.StatusCreated)
	h.must(first, approver, http.MethodPost, "/api/v1/seal-applications/"+app.ID+"/decision", map[string]any{"approve": true}, &app, http.StatusOK)
	h.must(first, orgAdmin, http.MethodPost, apps, map[string]any{"action": "bind", "seal_id": app.SealID, "reason": "证照签发"}, &app, http.StatusCreated)
	h.must(first, approver, http.MethodPost, "/api/v1/seal-applications/"+app.ID+"/decision", map[string]any{"approve": true}, nil, http.StatusOK)

	var mu sync.Mutex
	var failures []string
	byID, byNumber := map[string]int{}, map[string]int{}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			addr := servers[c%len(servers)].addr
			for i := range each {
				holder, err := ids.NewCreditCode('9', '1', "350100", fmt.Sprintf("%08d", c*each+i))
				var out struct {
					ID     string `json:"id"`
					Number string `json:"number"`
				}
				status, body := 0, []byte(nil)
				if err == nil {
					status, body, err = h.call(addr, issuer, http.MethodPost, "/api/v1/licenses", map[string]any{"type": "TP0001",
						"holder_id": holder, "holder_name": "福州示例有限公司", "face": map[string]string{"name": "福州示例有限公司"}}, &out)
				}
				mu.Lock()
				if err != nil || status != http.StatusCreated {
					failures = append(failures, fmt.Sprintf("issue via %s: %d %s %v", addr, status, body, err))
				} else {
					byID[out.ID]++
					byNumber[out.Number]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d issuances failed; first: %s\nserver errors:\n%s", len(failures), clients*each, failures[0], serverErrors(servers))
	}

	// Transitions through both processes: every client suspends the
	// licenses it issued, and then 20 clients race to revoke one license:
	// one wins, the others are refused naming its state.
	var licenses []string
	for id := range byID {
		licenses = append(licenses, id)
	}
	transition := func(addr, id, op string) (int, []byte, error) {
		return h.call(addr, issuer, http.MethodPost, "/api/v1/licenses/"+id+"/transitions", map[string]string{"operation": op, "reason": "负载测试"}, nil)
	}
	for c := range clients {
		wg.Go(func() {
			for i := c; i < len(licenses); i += clients {
				status, body, err := transition(servers[i%len(servers)].addr, licenses[i], "suspend")
				if err != nil || status != http.StatusOK {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("suspend %s: %d %s %v", licenses[i], status, body, err))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d suspensions failed; first: %s", len(failures), len(licenses), failures[0])
	}
	const racers = 20
	codes := make([]int, racers)
	for r := range racers {
		wg.Go(func() {
			status, body, err := transition(servers[r%len(servers)].addr, licenses[0], "revoke")
			if err != nil || (status == http.StatusConflict && !strings.Contains(string(body), "revoked")) {
				status = -1
			}
			codes[r] = status
		})
	}
	wg.Wait()
	won, refused := 0, 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			won++
		case http.StatusConflict:
			refused++
		}
	}
	if won != 1 || refused != racers-1 {
		t.Fatalf("20 racing revocations through two processes: %d won, %d refused naming the state; answers %v", won, refused, codes)
	}
	for _, s := range servers {
		s.stop(t)
	}
	if len(byID) != clients*each || len(byNumber) != clients*each {
		t.Fatalf("%d issuances gave %d identifiers and %d numbers", clients*each, len(byID), len(byNumber))
	}
	for id := range byID {
		if err := ids.ValidateLicenseID(id); err != nil {
			t.Fatalf("identifier %s: %v", id, err)
		}
	}
	if out := cmd("audit", "check"); out == "" {
		t.Fatal("audit check printed nothing")
	}
	t.Logf("%d licenses issued and suspended by %d clients through %d serve processes on one PostgreSQL; one of 20 racing revocations won", len(byID), clients, len(servers))
}
