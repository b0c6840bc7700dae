package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/notify"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// writeFile writes a test input; a failure would only show up later as a
// confusing command error, so it stops the test here.
func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o644); err != nil { //nolint:gosec // G703: a test's own file under its temporary directory
		t.Fatal(err)
	}
}

// storeCmd runs the command line, in English, on the store of one
// onEachStore subtest.
type storeCmd func(args ...string) (code int, stdout, stderr string)

// onEachStore runs fn as a subtest on a fresh SQLite store in data and on
// a fresh PostgreSQL schema at dsn (skipped loudly when not configured).
func onEachStore(t *testing.T, fn func(t *testing.T, cmd storeCmd, data, dsn string)) {
	for _, postgres := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[postgres], func(t *testing.T) {
			data, dsn := t.TempDir(), ""
			if postgres {
				dsn = storetest.PostgresDSN(t)
			}
			base := []string{"--data", data, "--lang", "en"}
			if dsn != "" {
				base = append(base, "--db", dsn)
			}
			fn(t, func(args ...string) (int, string, string) {
				t.Helper()
				return run(t, append(args, base...)...)
			}, data, dsn)
		})
	}
}

func TestCheckExitCodes(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"check", "credit-code", "91350100M000100Y43"}, 0, "有效"},
		{[]string{"check", "credit-code", "91350100m000100y43", "--lang", "en"}, 0, "valid"},
		{[]string{"check", "credit-code", "91350100M000100Y44", "--lang", "en"}, 1, "wrong check character"},
		{[]string{"check", "citizen-id", "11010519491231002x"}, 0, ""},
		{[]string{"check", "citizen-id", "110105194912310021"}, 1, ""},
		{[]string{"check", "region", "610100"}, 0, ""},
		{[]string{"check", "region", "991100"}, 1, ""},
		{[]string{"check", "region"}, 2, ""},
		{[]string{"check", "credit-code", "a", "b"}, 2, ""},
		{[]string{"no-such-command"}, 2, ""},
		{[]string{"version", "--bogus"}, 2, ""},
	} {
		code, out, errOut := run(t, c.args...)
		if code != c.code || !strings.Contains(out, c.out) {
			t.Errorf("%v: exit %d out %q err %q; want exit %d and %q", c.args, code, out, errOut, c.code, c.out)
		}
		if code == 2 && strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: stderr is not one line: %q", c.args, errOut)
		}
	}
	code, out, _ := run(t, "check", "credit-code", "91350100M000100Y44", "--json")
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != 1 || v["valid"] != false || v["rule"] != "check-character" {
		t.Fatalf("--json check: exit %d, %q (%v)", code, out, err)
	}
}

func TestOrgAndTokenCommands(t *testing.T) {
	data := t.TempDir()
	d := "--data=" + data
	code, _, errOut := run(t, "token", "create", "--role", "platform-admin", d)
	if code != 1 || !strings.Contains(errOut, "platform") {
		t.Fatalf("token without a platform org: exit %d %q", code, errOut)
	}
	code, out, errOut := run(t, "org", "create", d, "--json", "--credit-code", "91350100M000100Y43", "--name", "平台", "--region", "350100",
		"--kind", "platform", "--responsible-name", "李四", "--responsible-phone", "13900000000")
	var o map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &o) != nil || o["credit_code"] != "91350100M000100Y43" {
		t.Fatalf("org create --json: exit %d out %q err %q", code, out, errOut)
	}
	code, out, errOut = run(t, "org", "create", d, "--lang", "en", "--credit-code", "91350100M000100Y44", "--name", "x", "--region", "350100",
		"--kind", "issuer", "--responsible-name", "李四", "--responsible-phone", "1")
	if code != 2 || out != "" || !strings.Contains(errOut, "credit_code") || !strings.Contains(errOut, "check-character") ||
		!strings.Contains(errOut, "responsible.phone") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("invalid org: exit %d out %q err %q; want exit 2 and one line naming both fields", code, out, errOut)
	}
	code, out, errOut = run(t, "token", "create", "--role", "auditor", "--ttl", "2d", d)
	if code != 0 || !strings.HasPrefix(out, org.TokenPrefix) || strings.Count(out, "\n") != 1 {
		t.Fatalf("token create must print only the token: exit %d out %q err %q", code, out, errOut)
	}
	if code, _, _ := run(t, "token", "create", "--role", "wizard", d); code != 2 {
		t.Fatalf("unknown role: exit %d, want 2", code)
	}
	code, out, _ = run(t, "token", "list", d, "--json")
	if code != 0 || !strings.Contains(out, `"prefix": "zz_`) || strings.Contains(out, `"token":`) {
		t.Fatalf("token list shows secrets or failed: %d %s", code, out)
	}
	code, out, _ = run(t, "org", "list", d, "--json")
	var page struct {
		Items []map[string]any `json:"items"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &page) != nil || len(page.Items) != 1 {
		t.Fatalf("org list --json: %d %s", code, out)
	}
	if code, out, _ := run(t, "org", "update", "91350100M000100Y43", d, "--name", "新平台", "--json"); code != 0 || !strings.Contains(out, `"version": 2`) {
		t.Fatalf("org update: %d %s", code, out)
	}
	if code, out, _ := run(t, "migrate", d, "--json"); code != 0 || !strings.Contains(out, `"applied": 0`) {
		t.Fatalf("migrate again: %d %s", code, out)
	}
}

func TestStartupErrorsAreOneLine(t *testing.T) {
	ro := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	cases := [][]string{
		{"migrate", "--db", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", "--data", t.TempDir()},
		{"migrate", "--db", "mysql://x", "--data", t.TempDir()},
		{"serve", "--addr", "nonsense", "--data", t.TempDir()},
	}
	if os.Geteuid() != 0 { // root writes anywhere; the mode test is meaningless then
		cases = append(cases, []string{"migrate", "--data", ro})
	} else {
		cases = append(cases, []string{"migrate", "--data", "/proc/zhengzhao"})
	}
	for _, args := range cases {
		code, out, errOut := run(t, args...)
		if code == 0 || out != "" || strings.Count(errOut, "\n") != 1 || strings.Contains(errOut, "goroutine") {
			t.Errorf("%v: exit %d out %q err %q; want non-zero and one line", args, code, out, errOut)
		}
	}
	if _, _, errOut := run(t, "migrate", "--db", "postgres://u:secret@127.0.0.1:1/x?connect_timeout=2", "--data", t.TempDir()); strings.Contains(errOut, "secret") {
		t.Errorf("the DSN password reached the error: %q", errOut)
	}
}

func TestMigrateOnPostgres(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	code, out, errOut := run(t, "migrate", "--db", dsn, "--data", t.TempDir(), "--json")
	if code != 0 || !strings.Contains(out, `"dialect": "postgres"`) {
		t.Fatalf("migrate on PostgreSQL: %d %s %s", code, out, errOut)
	}
	// PostgreSQL is backed up with its own tools.
	if code, _, errOut := run(t, "backup", "--db", dsn, "--data", t.TempDir(), "--out", filepath.Join(t.TempDir(), "b.db")); code != 2 || !strings.Contains(errOut, "pg_dump") {
		t.Fatalf("backup of PostgreSQL: exit %d, %q; want 2 naming pg_dump", code, errOut)
	}
}

func TestMasterKeyAtStart(t *testing.T) {
	data := t.TempDir()
	d := "--data=" + data
	code, _, errOut := run(t, "migrate", d)
	if code != 0 || !strings.Contains(errOut, "master.key") {
		t.Fatalf("first start: exit %d, stderr %q; want the new master key announced", code, errOut)
	}
	if st, err := os.Stat(filepath.Join(data, "master.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("master.key: %v, %v; want mode 0600", st, err)
	}
	other := filepath.Join(t.TempDir(), "other.key")
	code, out, errOut := run(t, "org", "list", d, "--master-key-file", other)
	if code != 1 || out != "" || !strings.Contains(errOut, "missing") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("missing master key: exit %d out %q err %q", code, out, errOut)
	}
	if code, _, _ := run(t, "migrate", "--data="+t.TempDir(), "--master-key-file", other); code != 0 {
		t.Fatal("could not make a second master key")
	}
	code, out, errOut = run(t, "org", "list", d, "--master-key-file", other)
	if code != 1 || out != "" || !strings.Contains(errOut, "not the one this store was set up with") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("wrong master key: exit %d out %q err %q", code, out, errOut)
	}
	if err := os.Chmod(filepath.Join(data, "master.key"), 0o644); err != nil { //nolint:gosec // G302: the test makes the key world-readable on purpose, to see the CLI refuse it
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "org", "list", d); code != 1 || !strings.Contains(errOut, "master.key") {
		t.Fatalf("world-readable master key: exit %d err %q", code, errOut)
	}
}

func TestKeyCommands(t *testing.T) {
	data := t.TempDir()
	d := "--data=" + data
	if code, _, errOut := run(t, "org", "create", d, "--credit-code", "91350100M000100Y43", "--name", "平台", "--region", "350100",
		"--kind", "platform", "--responsible-name", "李四", "--responsible-phone", "13900000000"); code != 0 {
		t.Fatalf("org create: %s", errOut)
	}
	doc := filepath.Join(data, "doc.txt")
	writeFile(t, doc, []byte("证照"))
	for _, alg := range []string{"SM2-SM3", "ECDSA-P256-SHA256", "Ed25519"} {
		name := strings.ToLower(strings.Split(alg, "-")[0])
		code, id, errOut := run(t, "key", "create", d, "--name", name, "--purpose", "seal", "--alg", alg)
		id = strings.TrimSpace(id)
		if code != 0 || !strings.HasPrefix(id, "key_") {
			t.Fatalf("%s create: %d %q %q", alg, code, id, errOut)
		}
		sig := filepath.Join(data, name+".sig")
		pem := filepath.Join(data, name+".pem")
		if code, _, errOut := run(t, "key", "sign", d, name, doc, "--out", sig); code != 0 {
			t.Fatalf("%s sign: %s", alg, errOut)
		}
		_, pemText, _ := run(t, "key", "export-public", d, id)
		writeFile(t, pem, []byte(pemText))
		if code, out, errOut := run(t, "key", "verify", d, doc, sig, "--public", pem); code != 0 {
			t.Fatalf("%s verify offline: %d %q %q", alg, code, out, errOut)
		}
		if code, _, _ := run(t, "key", "rotate", d, name); code != 0 {
			t.Fatalf("%s rotate failed", alg)
		}
		if code, _, errOut := run(t, "key", "verify", d, doc, sig); code != 0 {
			t.Fatalf("%s verify after rotation: %q", alg, errOut)
		}
		if code, _, _ := run(t, "key", "sign", d, id, doc); code != 1 {
			t.Fatalf("%s: retired key signed (exit %d)", alg, code)
		}
	}
	other := filepath.Join(data, "other.txt")
	writeFile(t, other, []byte("别的"))
	if code, out, _ := run(t, "key", "verify", d, other, filepath.Join(data, "sm2.sig"), "--json"); code != 1 || !strings.Contains(out, `"valid": false`) {
		t.Fatalf("verify of another document: exit %d %q; want 1 and valid false", code, out)
	}
	if code, _, _ := run(t, "key", "verify", d, doc, doc); code != 2 {
		t.Fatalf("verify with a non-signature file: exit %d, want 2", code)
	}
	if code, _, _ := run(t, "key", "verify", d, filepath.Join(data, "missing"), doc); code != 2 {
		t.Fatalf("verify of a missing file: exit %d, want 2", code)
	}
	if code, _, _ := run(t, "key", "create", d, "--name", "x", "--purpose", "stamp"); code != 2 {
		t.Fatalf("invalid purpose: exit %d, want 2", code)
	}
	next := filepath.Join(t.TempDir(), "next.key")
	if code, _, errOut := run(t, "key", "rotate-master", d, "--new-master-key-file", next); code != 0 {
		t.Fatalf("rotate-master: %s", errOut)
	}
	if code, _, _ := run(t, "key", "sign", d, "sm2", doc); code != 1 {
		t.Fatal("the old master key still opens the store after rotate-master")
	}
	if code, _, errOut := run(t, "key", "sign", d, "sm2", doc, "--master-key-file", next); code != 0 {
		t.Fatalf("sign under the new master key: %s", errOut)
	}
}

func TestCACommands(t *testing.T) {
	data := t.TempDir()
	d := "--data=" + data
	if code, _, errOut := run(t, "org", "create", d, "--credit-code", "91350100M000100Y43", "--name", "平台", "--region", "350100",
		"--kind", "platform", "--responsible-name", "李四", "--responsible-phone", "13900000000"); code != 0 {
		t.Fatalf("org create: %s", errOut)
	}
	if code, out, errOut := run(t, "ca", "init", d); code != 0 || !strings.HasPrefix(out, "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("ca init: %d %q %q", code, out, errOut)
	}
	if code, _, _ := run(t, "ca", "init", d); code != 1 {
		t.Fatalf("second ca init: exit %d, want 1 (conflict)", code)
	}
	run(t, "key", "create", d, "--name", "seal", "--purpose", "seal")
	code, out, errOut := run(t, "ca", "issue", "seal", d, "--kind", "seal", "--not-after", "2040-01-01T00:00:00Z", "--json")
	var c api.Certificate
	if code != 0 || json.Unmarshal([]byte(out), &c) != nil || c.Kind != "seal" || c.NotAfter.Year() != 2040 {
		t.Fatalf("ca issue: %d %q %q", code, out, errOut)
	}
	if code, _, _ := run(t, "ca", "verify", c.Fingerprint, d); code != 0 {
		t.Fatal("a fresh certificate does not verify")
	}
	if code, out, _ := run(t, "ca", "verify", c.Serial, d, "--at", "2040-01-01T00:00:01Z", "--json"); code != 1 || !strings.Contains(out, "chain-expired") {
		t.Fatalf("verify after expiry: %d %q", code, out)
	}
	if code, _, _ := run(t, "ca", "verify", c.Serial, d, "--at", "tomorrow"); code != 2 {
		t.Fatalf("bad --at: exit %d, want 2", code)
	}
	if code, _, errOut := run(t, "ca", "revoke", c.Serial, d, "--reason", "1"); code != 0 {
		t.Fatalf("revoke: %s", errOut)
	}
	if code, out, _ := run(t, "ca", "verify", c.Serial, d); code != 1 || !strings.Contains(out, "revoked") {
		t.Fatalf("verify after revocation: %d %q", code, out)
	}
	if code, out, _ := run(t, "ca", "crl", d, "--pem"); code != 0 || !strings.HasPrefix(out, "-----BEGIN X509 CRL-----") {
		t.Fatalf("crl: %d %q", code, out)
	}
}

func TestSealAndAuditCommands(t *testing.T) {
	data := t.TempDir()
	d := "--data=" + data
	doc := filepath.Join(data, "doc")
	writeFile(t, doc, []byte("abc"))
	if code, out, _ := run(t, "seal", "digest", doc); code != 0 || strings.TrimSpace(out) != "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0" {
		t.Fatalf("SM3 of abc (GB/T 32905 vector): %d %q", code, out)
	}
	if code, _, _ := run(t, "seal", "verify", doc, doc); code != 2 {
		t.Fatalf("verify without --trust: exit %d, want 2", code)
	}
	if code, _, _ := run(t, "seal", "verify", "--trust", doc, doc, doc); code != 2 {
		t.Fatalf("verify with a bad trust bundle: exit %d, want 2", code)
	}
	if code, _, errOut := run(t, "seal", "trust-bundle", d, "--lang", "en"); code != 1 || !strings.Contains(errOut, "ca init") {
		t.Fatalf("trust bundle without a root to sign it: exit %d %q; want 1 and a hint", code, errOut)
	}
	if code, _, errOut := run(t, "org", "create", d, "--credit-code", "91350100M000100Y43", "--name", "平台", "--region", "350100",
		"--kind", "platform", "--responsible-name", "李四", "--responsible-phone", "13900000000"); code != 0 {
		t.Fatalf("org create: %s", errOut)
	}
	if code, _, errOut := run(t, "ca", "init", d); code != 0 {
		t.Fatalf("ca init: %s", errOut)
	}
	code, rootOut, _ := run(t, "ca", "root", d, "--json")
	var root api.Certificate
	if code != 0 || json.Unmarshal([]byte(rootOut), &root) != nil || len(root.Fingerprint) != 64 {
		t.Fatalf("ca root --json: %d %q", code, rootOut)
	}
	if code, out, _ := run(t, "seal", "trust-bundle", d); code != 0 || !strings.Contains(out, `"format": "zhengzhao-seal-trust/v1"`) ||
		!strings.Contains(out, `"root": "`+root.Fingerprint+`"`) {
		t.Fatalf("trust bundle: %d %q", code, out)
	}
	if code, out, errOut := run(t, "seal", "binding", "11350100M000100Y43", d, "--lang", "en"); code != 1 || out != "" || !strings.Contains(errOut, "11350100M000100Y43") {
		t.Fatalf("binding of no seal: exit %d %q %q; want 1 naming the seal", code, out, errOut)
	}
	bundle := filepath.Join(data, "trust.json")
	run(t, "seal", "trust-bundle", d, "--out", bundle)
	if code, out, _ := run(t, "seal", "verify", "--trust", bundle, doc, doc, "--json"); code != 1 || !strings.Contains(out, `"valid": false`) {
		t.Fatalf("verify of a non-signature: exit %d %q; want 1", code, out)
	}
	if code, out, _ := run(t, "seal", "verify", "--trust", bundle, doc, doc, "--lang", "en"); code != 1 ||
		!strings.Contains(out, "signed by root "+root.Fingerprint) {
		t.Fatalf("verify prints the bundle's root: exit %d %q", code, out)
	}

	// The bundle must be signed, unchanged, and by the pinned root.
	signed, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(data, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var m map[string]any
	if err := json.Unmarshal(signed, &m); err != nil {
		t.Fatal(err)
	}
	m["generated_at"] = "2099-01-01T00:00:00Z"
	tampered, _ := json.Marshal(m)
	delete(m, "signature")
	unsigned, _ := json.Marshal(m)
	for _, c := range []struct {
		name, file, pin string
		code            int
		stderr          string
	}{
		{"pinned", bundle, root.Fingerprint, 1, ""},
		{"pinned, colons", bundle, strings.ToUpper(root.Fingerprint[:2] + ":" + root.Fingerprint[2:]), 1, ""},
		{"another root pinned", bundle, strings.Repeat("0", 64), 2, "not signed by the pinned root"},
		{"bad pin", bundle, "xyz", 2, "not a SHA-256 fingerprint"},
		{"tampered", write("tampered.json", tampered), "", 2, "changed after the platform signed it"},
		{"unsigned", write("unsigned.json", unsigned), "", 2, "not signed; an unsigned trust bundle is refused"},
	} {
		args := []string{"seal", "verify", "--lang", "en", "--trust", c.file, doc, doc}
		if c.pin != "" {
			args = append(args, "--root-fingerprint", c.pin)
		}
		code, _, errOut := run(t, args...)
		if code != c.code || !strings.Contains(errOut, c.stderr) || (c.code == 2 && strings.Count(errOut, "\n") != 1) {
			t.Errorf("%s: exit %d stderr %q; want %d and one line with %q", c.name, code, errOut, c.code, c.stderr)
		}
	}
	if code, out, _ := run(t, "audit", "check", d, "--json"); code != 0 || !strings.Contains(out, `"intact": true`) {
		t.Fatalf("audit check: %d %q", code, out)
	}
}

func TestOutboxCommands(t *testing.T) {
	data := t.TempDir()
	d := "--data=" + data
	if code, _, errOut := run(t, "migrate", d); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, "", data)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, id := range []string{"obx_waiting", "obx_dead"} {
		storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertOutbox(ctx, id, "seal.filing", []byte(`{}`), now) })
	}
	code, out, errOut := run(t, "outbox", "list", d, "--lang", "en")
	if code != 0 || strings.Count(out, "no sink has taken it yet") != 2 {
		t.Fatalf("list before any sink: exit %d out %q err %q", code, out, errOut)
	}
	ds, err := db.ClaimDeliveries(ctx, notify.Claim{Sinks: []string{"webhook"}, Sink: "webhook", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 10})
	if err != nil || len(ds) != 2 {
		t.Fatalf("claim = %+v, %v", ds, err)
	}
	for _, x := range ds {
		f := notify.Failure{At: now, NextAttemptAt: now.Add(time.Hour), Error: "HTTP 503", Status: 503, Dead: x.ID == "obx_dead"}
		if err := db.RecordFailure(ctx, x, f); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"outbox", "list", "--dead", "--lang", "en"}, 0, "dead since"},
		{[]string{"outbox", "list", "--limit", "0"}, 2, ""},
		{[]string{"outbox", "requeue", "obx_none", "--lang", "en"}, 1, ""},
		{[]string{"outbox", "requeue"}, 2, ""},
		{[]string{"outbox", "requeue", "obx_dead", "--lang", "en"}, 0, "requeued 1 deliveries of event obx_dead"},
		{[]string{"outbox", "list", "--dead"}, 0, "所有事件均已投递"},
	} {
		code, out, errOut := run(t, append(c.args, d)...)
		if code != c.code || !strings.Contains(out, c.out) || (code != 0 && strings.Count(errOut, "\n") != 1) {
			t.Errorf("%v: exit %d out %q err %q; want exit %d and %q", c.args, code, out, errOut, c.code, c.out)
		}
	}
	code, out, _ = run(t, "outbox", "list", "--json", d)
	var v struct{ Items []notify.Item }
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != 0 || len(v.Items) != 2 || v.Items[0].Deliveries[0].LastStatus != 503 {
		t.Fatalf("list --json: exit %d %q (%v)", code, out, err)
	}
	code, out, _ = run(t, "audit", "list", "--json", d)
	if code != 0 || !strings.Contains(out, `"action": "outbox.requeued"`) {
		t.Fatalf("the requeue is not in the audit log: %s", out)
	}
}

// TestRotateDataKeysCommand rotates the data keys from the command line:
// the software private key and the contact details are re-encrypted, the
// old keys are retired, and the audit log records it by the operator.
func TestRotateDataKeysCommand(t *testing.T) {
	data := t.TempDir()
	d := "--data=" + data
	if code, _, errOut := run(t, "org", "create", d, "--credit-code", "91350100M000100Y43", "--name", "平台", "--region", "350100",
		"--kind", "platform", "--responsible-name", "李四", "--responsible-phone", "13900000000"); code != 0 {
		t.Fatalf("org create: %s", errOut)
	}
	if code, _, errOut := run(t, "key", "create", d, "--name", "sm2", "--purpose", "seal"); code != 0 {
		t.Fatalf("key create: %s", errOut)
	}
	code, out, errOut := run(t, "key", "rotate-data-keys", d, "--batch-size", "1", "--json")
	if code != 0 {
		t.Fatalf("rotate-data-keys: exit %d %s", code, errOut)
	}
	var res struct {
		Purposes []api.DataKeyRotation `json:"purposes"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("rotate-data-keys --json printed %q: %v", out, err)
	}
	if len(res.Purposes) != 2 {
		t.Fatalf("rotate-data-keys --json: %+v", res)
	}
	for _, p := range res.Purposes {
		if p.Version != 2 || !p.Done || len(p.Retired) != 1 || p.Retired[0] != 1 || p.Reencrypted < 1 {
			t.Errorf("rotation of %s: %+v", p.Purpose, p)
		}
	}
	if !strings.Contains(errOut, "field → ") || !strings.Contains(errOut, "orgs.responsible_phone") {
		t.Errorf("no progress on stderr: %q", errOut)
	}
	doc := filepath.Join(data, "doc.txt")
	writeFile(t, doc, []byte("证照"))
	if code, _, errOut := run(t, "key", "sign", d, "sm2", doc); code != 0 {
		t.Fatalf("sign with the re-encrypted private key: %s", errOut)
	}
	if code, out, _ := run(t, "org", "get", d, "91350100M000100Y43", "--json"); code != 0 || !strings.Contains(out, "13900000000") {
		t.Fatalf("org get after rotation: exit %d %q", code, out)
	}
	code, out, _ = run(t, "key", "data-keys", d, "--json")
	var ks struct {
		Items []api.DataKey `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &ks); code != 0 || err != nil || len(ks.Items) != 4 {
		t.Fatalf("key data-keys --json: exit %d %q %v", code, out, err)
	}
	for _, k := range ks.Items {
		if want := map[int64]string{1: "retired", 2: "active"}[k.Version]; k.State != want || (k.RetiredAt != nil) != (want == "retired") {
			t.Errorf("%s v%d: %+v, want %s", k.Purpose, k.Version, k, want)
		}
	}
	code, out, _ = run(t, "audit", "list", "--json", d)
	if code != 0 || !strings.Contains(out, `"data-key.rotated"`) || !strings.Contains(out, `"data-key.created"`) || !strings.Contains(out, `"actor": "operator"`) {
		t.Errorf("audit list lacks the rotation: exit %d %q", code, out)
	}
	if code, out, _ := run(t, "key", "rotate-data-keys", d, "--purpose", "private-key"); code != 0 || !strings.Contains(out, "v3") {
		t.Errorf("rotate-data-keys --purpose private-key: exit %d %q", code, out)
	}
	if code, _, _ := run(t, "key", "rotate-data-keys", d, "--purpose", "nope"); code != 2 {
		t.Errorf("rotate-data-keys --purpose nope: exit %d, want 2", code)
	}
	if code, _, _ := run(t, "key", "rotate-data-keys", d, "--batch-size", "0"); code != 2 {
		t.Errorf("rotate-data-keys --batch-size 0: exit %d, want 2", code)
	}
}
