package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
)

// TestPortInUseLeavesNoStore: a taken address is refused before the store
// is created, migrated or seeded, in the user's language, naming --addr.
func TestPortInUseLeavesNoStore(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tc := range []struct{ cmd, lang, want string }{
		{"demo", "en", "is in use"},
		{"serve", "zh-CN", "已被占用"},
	} {
		data := filepath.Join(t.TempDir(), "data")
		code, out, errOut := run(t, tc.cmd, "--data", data, "--addr", ln.Addr().String(), "--lang", tc.lang)
		if code != ExitInvalid || out != "" || strings.Count(errOut, "\n") != 1 ||
			!strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "--addr") {
			t.Errorf("%s on a port in use: exit %d, out %q, err %q; want exit 1 and one line naming --addr", tc.cmd, code, out, errOut)
		}
		if _, err := os.Stat(data); !os.IsNotExist(err) {
			t.Errorf("%s on a port in use created %s (%v)", tc.cmd, data, err)
		}
	}
}

// TestBadSealPolicyStartsNothing: a seal policy out of its bounds, from a
// flag or its environment twin, is refused with the flag, the value and the
// bounds in one line of the user's language, before the address is taken or
// the store is created.
func TestBadSealPolicyStartsNothing(t *testing.T) {
	for _, tc := range []struct {
		cmd, lang  string
		args       []string
		env, value string
		want       []string
	}{
		{"serve", "en", []string{"--seal-max-pin-failures", "50"}, "", "", []string{"--seal-max-pin-failures 50", "from 1 to 20"}},
		{"demo", "zh-CN", []string{"--seal-validity", "1h"}, "", "", []string{"--seal-validity 1h", "24h", "87600h", "之间的时长"}},
		{"serve", "en", []string{"--seal-validity", "720h"}, "", "", []string{"--seal-renewal-window 2208h", "less than the seal validity 720h"}},
		{"serve", "en", nil, "ZHENGZHAO_SEAL_PIN_MAX_AGE", "-24h", []string{"--seal-pin-max-age -24h", "from 24h to 43800h"}},
		{"serve", "en", nil, "ZHENGZHAO_SEAL_RENEWAL_WINDOW", "soon", []string{"ZHENGZHAO_SEAL_RENEWAL_WINDOW"}},
	} {
		t.Run(strings.Join(append([]string{tc.cmd, tc.env}, tc.args...), " "), func(t *testing.T) {
			if tc.env != "" {
				t.Setenv(tc.env, tc.value)
			}
			dir := t.TempDir()
			data, addrFile := filepath.Join(dir, "data"), filepath.Join(dir, "addr")
			args := append([]string{tc.cmd, "--data", data, "--addr", "127.0.0.1:0", "--addr-file", addrFile, "--lang", tc.lang}, tc.args...)
			code, out, errOut := run(t, args...)
			if code != ExitUsage || out != "" || strings.Count(errOut, "\n") != 1 {
				t.Errorf("%v %s=%s: exit %d, out %q, err %q; want exit 2 and one line", tc.args, tc.env, tc.value, code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("%v %s=%s: %q does not say %q", tc.args, tc.env, tc.value, errOut, w)
				}
			}
			for _, f := range []string{data, addrFile} {
				if _, err := os.Stat(f); !os.IsNotExist(err) {
					t.Errorf("%v %s=%s: %s exists (%v): something started", tc.args, tc.env, tc.value, f, err)
				}
			}
		})
	}
	// Commands that neither make, renew nor unlock seals do not take the
	// policies, and a policy in the environment does not stop them.
	t.Setenv("ZHENGZHAO_SEAL_MAX_PIN_FAILURES", "50")
	if code, out, _ := run(t, "key", "--help"); code != 0 || strings.Contains(out, "--seal-") {
		t.Errorf("key --help: exit %d, lists seal policies: %q", code, out)
	}
	if code, _, errOut := run(t, "migrate", "--data", t.TempDir()); code != 0 {
		t.Errorf("migrate with a bad seal policy in the environment: exit %d %q", code, errOut)
	}
}

// startDemo runs demo until the test stops it and returns its --json summary.
func startDemo(t *testing.T, data string) (summary struct {
	API     string             `json:"api"`
	Tokens  []demoToken        `json:"tokens"`
	Revoked int                `json:"revoked"`
	Holder  *api.HolderSession `json:"holder_session"`
}, stop func()) {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"demo", "--data", data, "--addr", "127.0.0.1:0", "--addr-file", addrFile, "--json"}, &stdout, &stderr)
	}()
	stop = func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("demo stopped with %d: %s", code, stderr.String())
		}
	}
	for range 500 {
		if json.Unmarshal([]byte(stdout.String()), &summary) == nil && summary.API != "" {
			return summary, stop
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	t.Fatalf("demo did not start: %s", stderr.String())
	return summary, nil
}

// TestDemoAgainReplacesItsTokens: a second demo on the same data prints
// tokens that work and revokes the first run's, so valid demo tokens do not
// pile up.
func TestDemoAgainReplacesItsTokens(t *testing.T) {
	data := t.TempDir()
	first, stop := startDemo(t, data)
	stop()
	second, stop := startDemo(t, data)
	defer stop()
	if len(second.Tokens) != len(first.Tokens) || len(first.Tokens) == 0 || second.Revoked != len(first.Tokens) {
		t.Fatalf("first run %d tokens, second %d with %d revoked; want as many revoked as the first run made",
			len(first.Tokens), len(second.Tokens), second.Revoked)
	}
	status := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, second.API+"/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range first.Tokens {
		if got := status(first.Tokens[i].Token); got != http.StatusUnauthorized {
			t.Errorf("first run's %s token answered %d, want 401", first.Tokens[i].Role, got)
		}
		if got := status(second.Tokens[i].Token); got != http.StatusOK {
			t.Errorf("second run's %s token answered %d, want 200", second.Tokens[i].Role, got)
		}
	}
	// The shipped license types are there, each with one approved version
	// however often the demo ran.
	req, _ := http.NewRequest(http.MethodGet, second.API+"/catalog/types?usable=true", nil)
	req.Header.Set("Authorization", "Bearer "+second.Tokens[0].Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var types api.Page[api.LicenseType]
	if err := json.NewDecoder(resp.Body).Decode(&types); err != nil {
		t.Fatal(err)
	}
	defs, err := catalog.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	if len(types.Items) != len(defs) {
		t.Fatalf("%d usable license types in the demo, want the %d shipped", len(types.Items), len(defs))
	}
	for i, ty := range types.Items {
		if ty.Code != defs[i].Type.Code || ty.ApprovedVersion != 1 {
			t.Errorf("demo type %s approved version %d, want %s at version 1", ty.Code, ty.ApprovedVersion, defs[i].Type.Code)
		}
	}
	// The demo's issuer issues the business license the demo prints at
	// once: its organization's license-issuing seal is made and bound,
	// once however often the demo ran.
	body, _, err := demoIssuance(defs)
	if err != nil {
		t.Fatal(err)
	}
	var issuer string
	for _, tok := range second.Tokens {
		if tok.Role == authz.Issuer {
			issuer = tok.Token
		}
	}
	req, _ = http.NewRequest(http.MethodPost, second.API+"/licenses", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+issuer)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var issued api.License
	if err := json.NewDecoder(resp.Body).Decode(&issued); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("the demo's issuance answered %d (%v)", resp.StatusCode, err)
	}
	req, _ = http.NewRequest(http.MethodGet, second.API+"/seals?kind=license-issuing", nil)
	req.Header.Set("Authorization", "Bearer "+issuer)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var seals api.Page[api.Seal]
	if err := json.NewDecoder(resp.Body).Decode(&seals); err != nil {
		t.Fatal(err)
	}
	if len(seals.Items) != 1 || seals.Items[0].ID != issued.SealID {
		t.Fatalf("after two demo runs the issuer sees %d license-issuing seals, want the one that signed (%s)", len(seals.Items), issued.SealID)
	}
	// The holder session the demo prints is the company's the license
	// was issued to: it sees the license among its own.
	if second.Holder == nil {
		t.Fatal("the demo printed no holder session")
	}
	req, _ = http.NewRequest(http.MethodGet, second.API+"/me/licenses", nil)
	req.Header.Set("Authorization", "Bearer "+second.Holder.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var mine api.Page[api.License]
	if err := json.NewDecoder(resp.Body).Decode(&mine); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the demo holder's licenses answered %d (%v)", resp.StatusCode, err)
	}
	if !slices.ContainsFunc(mine.Items, func(l api.License) bool { return l.ID == issued.ID }) {
		t.Errorf("the demo holder sees %d licenses, not the one issued to it (%s)", len(mine.Items), issued.ID)
	}
}

// TestUsageErrorsSpeakOneLanguage: cobra's and pflag's own refusals are
// worded by the catalog; each line is wholly Chinese or wholly English.
func TestUsageErrorsSpeakOneLanguage(t *testing.T) {
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", "C.UTF-8")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "zhengzhao: 错误: zhengzhao 没有 --bogus 选项"},
		{[]string{"org", "list", "--bogus", "--lang", "en"}, "zhengzhao: error: zhengzhao org list has no flag --bogus"},
		{[]string{"bogus", "--lang=en"}, "zhengzhao: error: zhengzhao has no command bogus"},
		{[]string{"seal", "verify"}, "用法：zhengzhao seal verify --trust TRUST.json [--root-fingerprint HEX] DOCUMENT SIGNATURE"},
		{[]string{"seal", "verify", "--lang", "en"}, "Usage: zhengzhao seal verify --trust TRUST.json [--root-fingerprint HEX] DOCUMENT SIGNATURE"},
		{[]string{"token", "create", "--role", "auditor", "--ttl", "soon"}, "选项 --ttl 的值 soon 不是时长"},
		{[]string{"serve", "--outbox-max-attempts", "many", "--lang", "en"}, "flag --outbox-max-attempts: many is not a whole number"},
		{[]string{"org", "list", "--limit"}, "选项 --limit 需要一个值"},
		{[]string{"version", "--lang", "fr"}, "zhengzhao: 错误: --lang fr 不是可用的语言"},
		{[]string{"check", "region", "110101", "--data", "x"}, "没有 --data 选项"}, // an offline check has no store flags
		{[]string{"org", "list", "--addr", "x"}, "没有 --addr 选项"},               // nor do store commands take server flags
		{[]string{"serve", "--addr", "8080"}, `zhengzhao: 错误: --addr "8080" 不是“主机:端口”的形式`},
		{[]string{"serve", "--addr", "8080", "--lang", "en"}, `zhengzhao: error: --addr "8080" is not host:port`},
		{[]string{"demo", "--upstream", "kafka"}, `--upstream "kafka"：请用 webhook、nats，或留空`},
	} {
		code, out, errOut := run(t, tc.args...)
		if code != ExitUsage || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, out %q, err %q; want exit 2 and one line with %q", tc.args, code, out, errOut, tc.want)
		}
		if han, latin := hasHan(errOut), hasLatinWord(errOut); han && latin {
			t.Errorf("%v: %q mixes Chinese text with English words", tc.args, errOut)
		}
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

// hasLatinWord reports an English word of four letters or more outside
// flags, commands and placeholders: prose, not names.
func hasLatinWord(s string) bool {
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return strings.ContainsRune(" ，：；（）。、“”", r)
	}) {
		if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "[") || strings.HasPrefix(w, `"`) || strings.ToUpper(w) == w || strings.Contains(w, ".") {
			continue
		}
		switch strings.TrimSuffix(w, ":") {
		case "zhengzhao", "seal", "verify", "list", "create", "token", "version", "check", "region", "serve", "bogus", "soon", "many", "auditor", "webhook", "nats":
			continue
		}
		letters := 0
		for _, r := range w {
			if r >= 'a' && r <= 'z' {
				letters++
			}
		}
		if letters >= 4 {
			return true
		}
	}
	return false
}

// TestHelpShowsTheLocaleDefault: under LANG=C.UTF-8 (Docker, CI) help
// shows the default that applies, zh-CN.
func TestHelpShowsTheLocaleDefault(t *testing.T) {
	for locale, want := range map[string]string{"C.UTF-8": `(default "zh-CN")`, "en_US.UTF-8": `(default "en")`} {
		t.Setenv("LC_ALL", "")
		t.Setenv("LC_MESSAGES", "")
		t.Setenv("LANG", locale)
		code, out, _ := run(t, "version", "--help")
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("LANG=%s version --help: exit %d, want %s in %q", locale, code, want, out)
		}
		if strings.Contains(out, "--addr") || strings.Contains(out, "--webhook-url") || strings.Contains(out, "--data") {
			t.Errorf("version --help lists store or server flags: %q", out)
		}
	}
	code, out, _ := run(t, "demo", "--help")
	for _, flag := range []string{"--addr", "--data", "--pkcs11-module", "--webhook-url", "--outbox-poll duration", "--outbox-max-attempts int",
		"--seal-validity duration", "--seal-renewal-window duration", "--seal-max-pin-failures int", "--seal-pin-max-age duration", "ZHENGZHAO_SEAL_PIN_MAX_AGE"} {
		if code != 0 || !strings.Contains(out, flag) {
			t.Errorf("demo --help does not list %s", flag)
		}
	}
}
