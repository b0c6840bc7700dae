package cli

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// TestUseCommands: the demo leaves the bank an approved matter and a grant
// of the business license type; the operator lists a matter on the hotel's
// behalf, cannot approve it (nobody reviews their own version), changes the
// bank's matter, and approves the later change the bank's staff write
// through the service, which superseded the operator's; it grants and withdraws a type; bad input exits
// non-zero naming the field and the rule, and --json prints the API's
// bodies.
func TestUseCommands(t *testing.T) {
	onEachStore(t, func(t *testing.T, cmd storeCmd, data, dsn string) {
		if code, _, errOut := cmd("migrate"); code != 0 {
			t.Fatalf("migrate: %s", errOut)
		}
		cat, err := i18n.New()
		if err != nil {
			t.Fatal(err)
		}
		a := &app{cat: cat, stdout: io.Discard, stderr: io.Discard}
		a.cfg.Data, a.cfg.DB, a.cfg.Lang = data, dsn, "en"
		seed := func() {
			t.Helper()
			if err := a.withPlatform(context.Background(), func(p *platform.Platform) error {
				_, err := seedDemo(context.Background(), p)
				return err
			}); err != nil {
				t.Fatalf("seed: %v", err)
			}
		}
		seed()
		seed() // a second run finds what the first made
		bank, err := ids.NewCreditCode('9', '1', "610100", "MA000001")
		if err != nil {
			t.Fatal(err)
		}
		var matters api.Page[api.Matter]
		code, out, errOut := cmd("use", "matter", "list", "--usable", "--json")
		if code != 0 || json.Unmarshal([]byte(out), &matters) != nil || len(matters.Items) != 1 || matters.Items[0].Org != bank ||
			matters.Items[0].ApprovedVersion != 1 || matters.Items[0].LatestVersion != 1 {
			t.Fatalf("the demo's matters: exit %d %q %q", code, out, errOut)
		}
		var grants api.Page[api.TypeGrant]
		code, out, errOut = cmd("use", "grant", "list", "--org", bank, "--json")
		if code != 0 || json.Unmarshal([]byte(out), &grants) != nil || len(grants.Items) != 1 || grants.Items[0].Type != "BL0001" ||
			grants.Items[0].State != "active" {
			t.Fatalf("the demo's grants: exit %d %q %q", code, out, errOut)
		}

		dir := t.TempDir()
		matterFile, contentFile, badFile := filepath.Join(dir, "matter.json"), filepath.Join(dir, "content.json"), filepath.Join(dir, "bad.json")
		writeFile(t, matterFile, []byte(`{"code": "RZ-001", "name": "开户", "legal_basis": "《反洗钱法》第十六条",
			"needs": [{"type": "BL0001", "fields": ["credit_code", "name"]}]}`))
		writeFile(t, contentFile, []byte(`{"name": "开立单位银行结算账户", "legal_basis": "《人民币银行结算账户管理办法》第十七条",
			"needs": [{"type": "BL0001", "fields": ["credit_code", "name", "domicile"]}]}`))
		writeFile(t, badFile, []byte(`{"code": "RZ 2", "name": "开户", "legal_basis": "x", "needs": [{"type": "BL0001", "fields": ["blood_type"]}]}`))
		if code, _, errOut := cmd("use", "matter", "create", "--org", bank, "--file", badFile); code != ExitUsage || !strings.Contains(errOut, "matter-code") {
			t.Errorf("a bad matter: exit %d %q, want 2 naming matter-code", code, errOut)
		}
		regulator, err := ids.NewCreditCode('1', '1', "610100", "MB000002")
		if err != nil {
			t.Fatal(err)
		}
		if code, _, errOut := cmd("use", "matter", "create", "--org", regulator, "--file", matterFile); code != ExitUsage || !strings.Contains(errOut, "using-unit-kind") {
			t.Errorf("a matter of an issuer: exit %d %q, want 2 naming using-unit-kind", code, errOut)
		}
		var v api.MatterVersion
		code, out, errOut = cmd("use", "matter", "create", "--org", bank, "--file", matterFile, "--json")
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Code != "RZ-001" || v.State != "pending" || v.Author != "operator" {
			t.Fatalf("create: exit %d %q %q", code, out, errOut)
		}
		if code, _, errOut := cmd("use", "matter", "approve", bank, "RZ-001", "1"); code != ExitInvalid || !strings.Contains(errOut, "four-eyes") {
			t.Errorf("the operator approves its own version: exit %d %q, want 1 naming four-eyes", code, errOut)
		}
		if code, _, errOut := cmd("use", "matter", "refuse", bank, "RZ-001", "1"); code != ExitUsage || !strings.Contains(errOut, "reason") {
			t.Errorf("refuse without a reason: exit %d %q, want 2 naming reason", code, errOut)
		}
		if code, _, _ := cmd("use", "matter", "approve", bank, "RZ-001", "x"); code != ExitUsage {
			t.Errorf("approve version x: exit %d, want 2", code)
		}
		// The operator changes the demo matter; the bank's usable version
		// stays 1 until a platform admin approves version 2.
		if code, out, errOut := cmd("use", "matter", "change", bank, "KH-001", "--file", contentFile); code != 0 || !strings.Contains(out, "version 2") {
			t.Fatalf("change: exit %d %q %q", code, out, errOut)
		}
		if code, out, _ := cmd("use", "matter", "show", bank, "KH-001"); code != 0 || !strings.Contains(out, "latest version 2") || !strings.Contains(out, "approved version 1") {
			t.Errorf("show: exit %d %q", code, out)
		}
		// The bank's staff write version 3 through the service, as the API
		// does; it supersedes the operator's version 2 and the operator
		// approves it.
		err = a.withPlatform(context.Background(), func(p *platform.Platform) error {
			staff := &authz.Actor{AccountID: "acc_bank", Org: bank, Roles: []authz.Role{authz.UsingUnit}}
			_, err := p.Use.ChangeMatter(context.Background(), staff, bank, "KH-001", use.Content{Name: "开立单位银行结算账户",
				LegalBasis: "《人民币银行结算账户管理办法》第十七条", Needs: []use.Need{{TypeCode: "BL0001", Fields: []string{"credit_code", "name"}}}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var pending api.Page[api.MatterVersion]
		code, out, errOut = cmd("use", "matter", "versions", "--state", "pending", "--json")
		if code != 0 || json.Unmarshal([]byte(out), &pending) != nil || len(pending.Items) != 2 || pending.Items[0].Number != 3 || pending.Items[1].Code != "RZ-001" {
			t.Fatalf("pending versions: exit %d %q %q", code, out, errOut)
		}
		if code, out, errOut := cmd("use", "matter", "approve", bank, "KH-001", "2"); code != ExitInvalid || !strings.Contains(errOut, "transition") {
			t.Fatalf("approve the superseded version: exit %d %q %q", code, out, errOut)
		}
		if code, out, errOut := cmd("use", "matter", "approve", bank, "KH-001", "3", "--reason", "依据充分"); code != 0 || !strings.Contains(out, "approved") {
			t.Fatalf("approve: exit %d %q %q", code, out, errOut)
		}
		if code, out, _ := cmd("use", "matter", "versions", bank, "KH-001"); code != 0 || strings.Count(out, "\n") != 3 || !strings.Contains(out, "superseded") {
			t.Errorf("versions of KH-001: exit %d %q", code, out)
		}

		// Grants.
		if code, _, errOut := cmd("use", "grant", "create", "--org", bank, "--type", "BL0001"); code != ExitInvalid || !strings.Contains(errOut, "unique") {
			t.Errorf("grant twice: exit %d %q, want 1 naming unique", code, errOut)
		}
		if code, _, errOut := cmd("use", "grant", "create", "--org", bank, "--type", "FP0001", "--until", "2020-01-01T00:00:00Z"); code != ExitUsage || !strings.Contains(errOut, "future") {
			t.Errorf("a grant that ended: exit %d %q, want 2 naming future", code, errOut)
		}
		if code, _, _ := cmd("use", "grant", "create", "--org", bank, "--type", "FP0001", "--until", "tomorrow"); code != ExitUsage {
			t.Errorf("--until tomorrow: exit %d, want 2", code)
		}
		var g api.TypeGrant
		code, out, errOut = cmd("use", "grant", "create", "--org", bank, "--type", "FP0001", "--until", "2099-01-01T00:00:00Z", "--json")
		if code != 0 || json.Unmarshal([]byte(out), &g) != nil || g.Type != "FP0001" || g.ValidUntil == nil {
			t.Fatalf("grant: exit %d %q %q", code, out, errOut)
		}
		if code, _, errOut := cmd("use", "grant", "withdraw", g.ID); code != ExitUsage || !strings.Contains(errOut, "reason") {
			t.Errorf("withdraw without a reason: exit %d %q, want 2 naming reason", code, errOut)
		}
		if code, out, errOut := cmd("use", "grant", "withdraw", g.ID, "--reason", "协议终止"); code != 0 || !strings.Contains(out, "withdrawn") {
			t.Fatalf("withdraw: exit %d %q %q", code, out, errOut)
		}
		if code, _, _ := cmd("use", "grant", "withdraw", g.ID, "--reason", "再次"); code != ExitInvalid {
			t.Errorf("withdraw twice: exit %d, want 1", code)
		}
		if code, out, _ := cmd("use", "grant", "list", "--state", "withdrawn"); code != 0 || !strings.Contains(out, g.ID) {
			t.Errorf("withdrawn grants: exit %d %q", code, out)
		}
	})
}
