package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/platform"
)

// TestCatalogCommands defines a type and proposes a version as the
// operator, is refused reviewing its own version and rejecting without a
// reason, approves a version an issuer proposed, and lists what results,
// with --json printing the API's types.
func TestCatalogCommands(t *testing.T) {
	onEachStore(t, func(t *testing.T, cmd storeCmd, data, dsn string) {
		dir := t.TempDir()
		const issuer = "11350100MB0000027N"
		for _, o := range [][]string{{"91350100M000100Y43", "平台", "platform"}, {issuer, "市场监督管理局", "issuer"}} {
			if code, _, errOut := cmd("org", "create", "--credit-code", o[0], "--name", o[1], "--region", "350100",
				"--kind", o[2], "--responsible-name", "李四", "--responsible-phone", "13900000000"); code != 0 {
				t.Fatalf("org create: %s", errOut)
			}
		}
		typeFile, tplFile, badFile := filepath.Join(dir, "type.json"), filepath.Join(dir, "template.json"), filepath.Join(dir, "bad.json")
		writeFile(t, typeFile, []byte(`{"code": "TP0001", "name": {"zh-CN": "测试许可证", "en": "Test permit"}, "issuers": ["`+issuer+`"],
				"holder_kind": "organization", "level": "municipal", "public": "shared", "collection_start": "2020-01-01",
				"validity": {"kind": "fixed", "years": 5}, "numbering": "{region}{year}{seq:6}"}`))
		writeFile(t, tplFile, []byte(`{"fields": [{"key": "name", "label": {"zh-CN": "名称", "en": "Name"}, "type": "string",
				"required": true, "max_length": 100, "sensitivity": "public", "masking": {"rule": "none"}}]}`))
		writeFile(t, badFile, []byte(`{"code": "TP0002", "colour": "red"}`))

		if code, out, errOut := cmd("catalog", "define", "--file", typeFile); code != 0 || !strings.Contains(out, "TP0001") {
			t.Fatalf("define: exit %d %q %q", code, out, errOut)
		}
		if code, _, errOut := cmd("catalog", "define", "--file", badFile); code != ExitUsage || !strings.Contains(errOut, "colour") {
			t.Errorf("define with an unknown key: exit %d %q, want 2 naming it", code, errOut)
		}
		if code, _, _ := cmd("catalog", "define", "--file", typeFile); code != ExitInvalid {
			t.Errorf("define the same code again: exit %d, want 1", code)
		}
		var v api.LicenseTypeVersion
		code, out, errOut := cmd("catalog", "propose", "TP0001", "--file", tplFile, "--json")
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Number != 1 || v.State != "pending" || v.Author != "operator" {
			t.Fatalf("propose: exit %d %q %q", code, out, errOut)
		}
		if code, _, errOut := cmd("catalog", "approve", "TP0001", "1"); code != ExitInvalid || !strings.Contains(errOut, "four-eyes") {
			t.Errorf("the operator approves its own version: exit %d %q, want 1 naming four-eyes", code, errOut)
		}
		if code, _, errOut := cmd("catalog", "reject", "TP0001", "1"); code != ExitUsage || !strings.Contains(errOut, "reason") {
			t.Errorf("reject without a reason: exit %d %q, want 2 naming reason", code, errOut)
		}
		if code, _, _ := cmd("catalog", "approve", "TP0001", "x"); code != ExitUsage {
			t.Errorf("approve version x: exit %d, want 2", code)
		}

		// A platform admin proposes through the service, as the API
		// does; the operator reviews it.
		cat, err := i18n.New()
		if err != nil {
			t.Fatal(err)
		}
		a := &app{cat: cat}
		a.cfg.Data, a.cfg.DB, a.cfg.Lang = data, dsn, "en"
		err = a.withPlatform(context.Background(), func(p *platform.Platform) error {
			ctx := context.Background()
			typ, err := p.Catalog.GetType(ctx, "TP0001")
			if err != nil {
				return err
			}
			v1, err := p.Catalog.GetVersion(ctx, "TP0001", 1)
			if err != nil {
				return err
			}
			admin := &authz.Actor{AccountID: "acc_admin", Org: typ.Owner, Roles: []authz.Role{authz.PlatformAdmin}}
			v2, err := p.Catalog.ProposeVersion(ctx, admin, "TP0001", v1.Template)
			v.Number = v2.Number
			return err
		})
		if err != nil || v.Number != 2 {
			t.Fatalf("propose version 2: %d, %v", v.Number, err)
		}
		if code, out, errOut := cmd("catalog", "approve", "TP0001", "2", "--reason", "符合要求"); code != 0 || !strings.Contains(out, "approved") {
			t.Fatalf("approve version 2: exit %d %q %q", code, out, errOut)
		}

		var types api.Page[api.LicenseType]
		code, out, errOut = cmd("catalog", "types", "--usable", "--json")
		if code != 0 || json.Unmarshal([]byte(out), &types) != nil || len(types.Items) != 1 || types.Items[0].ApprovedVersion != 2 {
			t.Fatalf("usable types: exit %d %q %q", code, out, errOut)
		}
		var versions api.Page[api.LicenseTypeVersion]
		code, out, errOut = cmd("catalog", "versions", "TP0001", "--json")
		if code != 0 || json.Unmarshal([]byte(out), &versions) != nil || len(versions.Items) != 2 || versions.Items[1].Events[1].Reason != "符合要求" {
			t.Fatalf("versions: exit %d %q %q", code, out, errOut)
		}
		if code, out, _ := cmd("catalog", "type", "TP0001"); code != 0 || !strings.Contains(out, "Test permit") || !strings.Contains(out, issuer) {
			t.Errorf("type: exit %d %q", code, out)
		}
		if code, _, _ := cmd("catalog", "type", "TP0009"); code != ExitInvalid {
			t.Errorf("unknown type: exit %d, want 1", code)
		}
	})
}
