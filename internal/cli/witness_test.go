package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestAuditWitnessCommands makes a witness key, has `audit witness`
// cosign a serving platform's checkpoint over HTTP, checks k of n with
// `audit verify-checkpoint --witness --min-witnesses`, and has the witness
// refuse a log that does not extend what it cosigned.
func TestAuditWitnessCommands(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		dir := t.TempDir()
		keyFile, state := filepath.Join(dir, "witness.key"), filepath.Join(dir, "witness.state")
		witness := func(args ...string) (int, string, string) {
			t.Helper()
			return run(t, append(args, "--lang", "en", "--data", filepath.Join(dir, "data"))...)
		}
		code, vkey, errOut := witness("audit", "witness-key", "--name", "witness.example", "--key-file", keyFile)
		if code != 0 || !strings.HasPrefix(vkey, "witness.example+") {
			t.Fatalf("witness-key: exit %d %q %s", code, vkey, errOut)
		}
		if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file: %v %v", fi, err)
		}
		if code, _, _ := witness("audit", "witness-key", "--name", "witness.example", "--key-file", keyFile); code != ExitUsage {
			t.Errorf("witness-key over an existing file: exit %d, want %d", code, ExitUsage)
		}
		vkey = strings.TrimSpace(vkey)
		w, err := auditlog.ParseWitness(vkey)
		if err != nil {
			t.Fatal(err)
		}
		// A clock that stands still keeps the first cosigned checkpoint in
		// its witness window for the whole test.
		start := time.Now()
		p, err := platform.New(db, platform.Options{Witnesses: []auditlog.Witness{w}, Clock: func() time.Time { return start }})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Orgs.CreateOrg(ctx, org.NewOrg{CreditCode: "91350100M000100Y43", Name: "平台", Kinds: []org.Kind{org.KindPlatform},
			Region: "350100", Responsible: org.Responsible{Name: "张三", Phone: "13800000000"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := auditlog.IntegrateAll(ctx, db); err != nil {
			t.Fatal(err)
		}
		srv := serveWeb(t, p)
		logKey, err := p.Checkpoints.VerifierKey(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cosign := func() (int, string, string) {
			t.Helper()
			return witness("audit", "witness", "--url", srv.URL, "--log-key", logKey, "--key-file", keyFile, "--state", state)
		}
		if code, out, errOut := cosign(); code != 0 || !strings.Contains(out, "cosigned zhengzhao.audit/91350100M000100Y43") {
			t.Fatalf("audit witness: exit %d\n%s%s", code, out, errOut)
		}
		if code, out, errOut := cosign(); code != 0 || !strings.Contains(out, "cosigned already") {
			t.Fatalf("audit witness again: exit %d\n%s%s", code, out, errOut)
		}

		resp, err := http.Get(srv.URL + "/tlog/checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		cp, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		cpFile := filepath.Join(dir, "checkpoint")
		writeFile(t, cpFile, cp)
		_, other, err := auditlog.GenerateWitnessKey("other.witness")
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			args []string
			code int
		}{
			{[]string{"--witness", vkey}, 0},
			{[]string{"--witness", vkey, "--witness", other, "--min-witnesses", "1"}, 0},
			{[]string{"--witness", vkey, "--witness", other}, ExitInvalid}, // all of them by default
			{[]string{"--witness", vkey, "--min-witnesses", "2"}, ExitUsage},
			{[]string{"--witness", "garbage"}, ExitUsage},
		} {
			args := append([]string{"audit", "verify-checkpoint", cpFile, "--key", logKey}, tc.args...)
			if code, out, errOut := witness(args...); code != tc.code {
				t.Errorf("verify-checkpoint %v: exit %d, want %d\n%s%s", tc.args, code, tc.code, out, errOut)
			}
		}

		// The whole log, end to end, by an auditor; then its archive.
		acc, err := p.Orgs.CreateAccount(ctx, org.NewAccount{Org: "91350100M000100Y43", Name: "auditor", Roles: []authz.Role{authz.Auditor}})
		if err != nil {
			t.Fatal(err)
		}
		token, _, err := p.Orgs.IssueToken(ctx, org.NewToken{AccountID: acc.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := auditlog.IntegrateAll(ctx, db); err != nil {
			t.Fatal(err)
		}
		archive := filepath.Join(dir, "archive")
		if code, out, errOut := witness("audit", "verify", "--url", srv.URL, "--token", token, "--log-key", logKey, "--archive", archive); code != 0 ||
			!strings.Contains(out, "zhengzhao.audit/91350100M000100Y43@") {
			t.Fatalf("audit verify: exit %d\n%s%s", code, out, errOut)
		}
		if code, out, errOut := witness("audit", "verify", "--dir", archive, "--log-key", logKey); code != 0 {
			t.Fatalf("audit verify --dir: exit %d\n%s%s", code, out, errOut)
		}
		if code, _, _ := witness("audit", "verify", "--url", srv.URL, "--log-key", logKey); code != ExitUsage {
			t.Errorf("audit verify without a token: exit %d, want %d", code, ExitUsage)
		}
		// The archived checkpoint may be the one witnesses are at, a little
		// behind the tree.
		archived, err := os.ReadFile(filepath.Join(archive, "checkpoint"))
		if err != nil {
			t.Fatal(err)
		}
		_, size, _, err := auditlog.VerifyCheckpoint(archived, logKey)
		if err != nil || size == 0 || size >= auditlog.TileWidth {
			t.Fatalf("archived checkpoint of %d entries, %v", size, err)
		}
		bundle := filepath.Join(archive, filepath.FromSlash(auditlog.Tile{Entries: true, Width: int(size)}.Path()))
		b, err := os.ReadFile(bundle)
		if err != nil {
			t.Fatal(err)
		}
		changed := []byte(strings.Replace(string(b), "org.created", "org.updated", 1))
		if err := os.WriteFile(bundle, changed, 0o600); err != nil { //nolint:gosec // the path is below the test's temporary directory
			t.Fatal(err)
		}
		if code, out, errOut := witness("audit", "verify", "--dir", archive, "--log-key", logKey); code != ExitInvalid || !strings.Contains(out, "does not match") {
			t.Fatalf("audit verify of a changed archive: exit %d\n%s%s", code, out, errOut)
		}

		// The witness has cosigned a later checkpoint of the same history
		// than the one served: nothing to cosign, no alarm.
		var s auditlog.WitnessState
		tree, err := db.AuditTree(ctx)
		if err != nil {
			t.Fatal(err)
		}
		saved, err := os.ReadFile(state)
		if err != nil || json.Unmarshal(saved, &s) != nil || tree.Size <= s.Size {
			t.Fatalf("state %s of a tree of %d: %v", saved, tree.Size, err)
		}
		ahead, err := json.Marshal(auditlog.WitnessState{Origin: s.Origin, Size: tree.Size, Root: tree.Root})
		if err != nil {
			t.Fatal(err)
		}
		putState(t, state, ahead)
		if code, out, errOut := cosign(); code != 0 || !strings.Contains(out, "nothing to cosign") {
			t.Fatalf("audit witness ahead of the served checkpoint: exit %d\n%s%s", code, out, errOut)
		}
		putState(t, state, saved)

		// The state says the witness cosigned another root at this size:
		// the log no longer extends it, nothing is signed, the state stays.
		b, err = os.ReadFile(state)
		if err != nil || json.Unmarshal(b, &s) != nil {
			t.Fatalf("state %s: %v", b, err)
		}
		s.Root[0] ^= 1
		forged, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		putState(t, state, forged)
		if code, out, errOut := cosign(); code != ExitInvalid || !strings.Contains(errOut, "does not extend") {
			t.Fatalf("audit witness on a forked log: exit %d\n%s%s", code, out, errOut)
		}
		if after, _ := os.ReadFile(state); string(after) != string(forged) {
			t.Error("a refused checkpoint moved the witness's state")
		}
	})
}

// putState puts a witness state in place, as the witness would.
func putState(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil { //nolint:gosec // the path is below the test's temporary directory
		t.Fatal(err)
	}
}
