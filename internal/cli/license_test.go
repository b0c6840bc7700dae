package cli

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/platform"
)

// seedIssuer seeds the demo city on the store, whose market regulator has
// a license-issuing seal bound to license issuance; it returns the
// regulator's credit code and the face sample of PC0001.
func seedIssuer(t *testing.T, cmd storeCmd, data, dsn string) (issuer string, face json.RawMessage) {
	t.Helper()
	// The command line sets the store up (master key, data keys) as it
	// configures it.
	if code, _, errOut := cmd("migrate"); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	a := &app{cat: cat, stdout: io.Discard, stderr: io.Discard}
	a.cfg.Data, a.cfg.DB, a.cfg.Lang = data, dsn, "en"
	err = a.withPlatform(context.Background(), func(p *platform.Platform) error {
		ctx := context.Background()
		if _, err := seedDemo(ctx, p); err != nil {
			return err
		}
		issuer, err = ids.NewCreditCode('1', '1', "610100", "MB000002")
		return err
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	defs, err := catalog.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if d.Type.Code == "PC0001" {
			face = d.Sample
		}
	}
	return issuer, face
}

// TestLicenseCommands issues licenses, with a material and as another
// account too, gets them and lists them, with --json printing the API's
// types; a missing account, an account without the issuer role, a wrong
// flag, bad face data and a bad material are refused, naming the problem,
// and store nothing.
func TestLicenseCommands(t *testing.T) {
	onEachStore(t, func(t *testing.T, cmd storeCmd, data, dsn string) {
		dir := t.TempDir()
		issuer, face := seedIssuer(t, cmd, data, dsn)
		faceFile, pdf, fake := filepath.Join(dir, "face.json"), filepath.Join(dir, "申请表.pdf"), filepath.Join(dir, "fake.pdf")
		writeFile(t, faceFile, face)
		writeFile(t, pdf, []byte("%PDF-1.7\n申请表\n%%EOF\n"))
		writeFile(t, fake, []byte("not a pdf"))
		issue := func(extra ...string) []string {
			return append([]string{"license", "issue", "--issuer", issuer, "--type", "PC0001", "--holder-id", "11010519491231002X",
				"--holder-name", "王建国"}, extra...)
		}
		count := func() int {
			t.Helper()
			var p api.Page[api.License]
			code, out, errOut := cmd("license", "list", "--issuer", issuer, "--json")
			if code != 0 || json.Unmarshal([]byte(out), &p) != nil {
				t.Fatalf("list: exit %d %q %q", code, out, errOut)
			}
			return len(p.Items)
		}

		if code, _, errOut := cmd(issue("--face", string(face))...); code != ExitInvalid || !strings.Contains(errOut, "no account svc-issuer") {
			t.Fatalf("issue before the account exists: exit %d %q, want 1 naming it", code, errOut)
		}
		if code, _, errOut := cmd("token", "create", "--role", "issuer", "--org", issuer); code != 0 {
			t.Fatalf("token create: %s", errOut)
		}
		var l api.License
		code, out, errOut := cmd(append(issue("--face", "@"+faceFile, "--material", pdf), "--json")...)
		if code != 0 || json.Unmarshal([]byte(out), &l) != nil || l.Type != "PC0001" || l.Issuer != issuer || len(l.Materials) != 1 ||
			l.Materials[0].Name != "申请表.pdf" || l.Materials[0].MediaType != "application/pdf" {
			t.Fatalf("issue: exit %d %q %q", code, out, errOut)
		}
		if code, out, errOut := cmd(issue("--face", string(face))...); code != 0 || !strings.Contains(out, "issued license") || !strings.Contains(out, "0 materials") {
			t.Fatalf("issue with the face inline: exit %d %q %q", code, out, errOut)
		}
		if n := count(); n != 2 {
			t.Fatalf("%d licenses listed, want 2", n)
		}
		if code, out, errOut := cmd(issue("--face", string(face), "--account", "demo-issuer")...); code != 0 || !strings.Contains(out, "issued") {
			t.Fatalf("issue as another issuer account: exit %d %q %q", code, out, errOut)
		}

		for _, c := range []struct {
			name string
			args []string
			code int
			want string
		}{
			{"a wrong flag", issue("--face", string(face), "--colour", "red"), ExitUsage, "colour"},
			{"no face", issue(), ExitUsage, "face"},
			{"face not JSON", issue("--face", "{name"), ExitUsage, "--face"},
			{"face of the wrong fields", issue("--face", `{"colour": "red"}`), ExitUsage, "face.colour"},
			{"bad holder id", append(issue("--face", string(face)), "--holder-id", "110105194912310021"), ExitUsage, "holder_id"},
			{"bad date", issue("--face", string(face), "--valid-from", "tomorrow"), ExitUsage, "valid-from"},
			{"a material not of its type", issue("--face", string(face), "--material", fake), ExitUsage, "materials[0].media_type"},
			{"a missing material", issue("--face", string(face), "--material", filepath.Join(dir, "nope.pdf")), ExitUsage, "nope.pdf"},
			{"an account without the issuer role", issue("--face", string(face), "--account", "demo-org-admin"), ExitInvalid, "issuer role"},
			{"no such account", issue("--face", string(face), "--account", "nobody"), ExitInvalid, "no account nobody"},
		} {
			code, _, errOut := cmd(c.args...)
			if code != c.code || !strings.Contains(errOut, c.want) {
				t.Errorf("%s: exit %d %q, want %d naming %s", c.name, code, errOut, c.code, c.want)
			}
		}
		if n := count(); n != 3 {
			t.Fatalf("refusals stored licenses: %d listed, want 3", n)
		}

		var got api.License
		code, out, errOut = cmd("license", "get", l.ID, "--json")
		if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got.ID != l.ID || got.Number != l.Number || got.HolderID != "11010519491231002X" {
			t.Fatalf("get: exit %d %q %q", code, out, errOut)
		}
		if code, out, _ := cmd("license", "get", l.ID); code != 0 || !strings.Contains(out, l.Number) || !strings.Contains(out, "王建国") {
			t.Errorf("get: exit %d %q", code, out)
		}
		broken := l.ID[:34] + map[bool]string{true: "1", false: "0"}[l.ID[34] == '0']
		if code, _, errOut := cmd("license", "get", broken); code != ExitUsage || !strings.Contains(errOut, "id") {
			t.Errorf("get a broken identifier: exit %d %q, want 2", code, errOut)
		}
		var p api.Page[api.License]
		code, out, errOut = cmd("license", "list", "--issuer", issuer, "--limit", "1", "--json")
		if code != 0 || json.Unmarshal([]byte(out), &p) != nil || len(p.Items) != 1 || p.NextCursor == "" {
			t.Fatalf("list a page of 1: exit %d %q %q", code, out, errOut)
		}
		code, out, _ = cmd("license", "list", "--issuer", issuer, "--limit", "1", "--cursor", p.NextCursor)
		if code != 0 || !strings.HasPrefix(out, "PC0001") || strings.Contains(out, p.Items[0].ID) || !strings.Contains(out, "next page: --cursor") {
			t.Errorf("the second page: exit %d %q", code, out)
		}
		if code, out, _ := cmd("license", "list", "--issuer", issuer, "--holder", "11010519491231002x", "--state", string(license.Active)); code != 0 || strings.Count(out, "王建国") != 3 {
			t.Errorf("list by holder: exit %d %q", code, out)
		}
		if code, _, errOut := cmd("license", "list"); code != ExitUsage || !strings.Contains(errOut, "issuer") {
			t.Errorf("list without --issuer: exit %d %q", code, errOut)
		}

		// The lifecycle: suspend, a change (a new signed version) refused
		// while suspended naming the state, resume, change, revoke.
		transition := func(op, reason string, extra ...string) (int, string, string) {
			return cmd(append([]string{"license", "transition", l.ID, "--operation", op, "--reason", reason}, extra...)...)
		}
		if code, out, errOut := transition("suspend", "核查"); code != 0 || !strings.Contains(out, "active → suspended") {
			t.Fatalf("suspend: exit %d %q %q", code, out, errOut)
		}
		if code, _, errOut := transition("change", "住址变更", "--face", "@"+faceFile); code != ExitInvalid || !strings.Contains(errOut, "suspended") {
			t.Errorf("change a suspended license: exit %d %q, want 1 naming the state", code, errOut)
		}
		if code, _, errOut := transition("suspend", ""); code != ExitUsage || !strings.Contains(errOut, "reason") {
			t.Errorf("no reason: exit %d %q, want 2 naming reason", code, errOut)
		}
		if code, _, errOut := transition("thaw", "x"); code != ExitUsage || !strings.Contains(errOut, "operation") {
			t.Errorf("an unknown operation: exit %d %q, want 2 naming operation", code, errOut)
		}
		if code, out, errOut := transition("resume", "核查完毕"); code != 0 || !strings.Contains(out, "suspended → active") {
			t.Fatalf("resume: exit %d %q %q", code, out, errOut)
		}
		if code, out, errOut := transition("change", "住址变更", "--face", "@"+faceFile, "--json"); code != 0 ||
			json.Unmarshal([]byte(out), &got) != nil || got.Version != 2 || got.State != string(license.Active) {
			t.Fatalf("change: exit %d %q %q", code, out, errOut)
		}
		if code, out, errOut := transition("revoke", "依法吊销"); code != 0 || !strings.Contains(out, "active → revoked") {
			t.Fatalf("revoke: exit %d %q %q", code, out, errOut)
		}
	})
}
