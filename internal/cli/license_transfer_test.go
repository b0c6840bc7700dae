package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/seal"
)

// bindLicenseSeal has admin's organization make a license-issuing seal
// kept by keeper and bind it to license issuance, approver approving, and
// returns the seal's code.
func bindLicenseSeal(t *testing.T, p *platform.Platform, admin, keeper, approver *authz.Actor) string {
	t.Helper()
	ctx := context.Background()
	decide := func(n seal.NewApplication) string {
		app, err := p.Seals.Apply(ctx, admin, n)
		if err != nil {
			t.Fatal(err)
		}
		if app, err = p.Seals.Decide(ctx, approver, app.ID, true, "同意"); err != nil {
			t.Fatal(err)
		}
		return app.SealID
	}
	sealID := decide(seal.NewApplication{Org: admin.Org, Action: seal.Make, SealKind: seal.LicenseIssuing, Name: "证照专用章",
		Reason: "签发电子证照", Image: seal.SampleImage(), WidthMM: 40, HeightMM: 40, Keepers: []string{keeper.AccountID}, Justification: "测试"})
	decide(seal.NewApplication{Org: admin.Org, Action: seal.Bind, SealID: sealID, Reason: "证照签发"})
	return sealID
}

// TestLicenseTransferCommand moves the license issueForExport issued to a
// second issuer with a bound seal, in the foreground, with a progress
// line; the new issuer reads it by its unchanged identifier; a job that is
// done does not resume, and a command without a job is a usage error.
func TestLicenseTransferCommand(t *testing.T) {
	onEachStore(t, func(t *testing.T, cmd storeCmd, data, dsn string) {
		issued := issueForExport(t, cmd, data, dsn)
		const to = "11350100MB0000035H"
		if code, _, errOut := cmd("org", "create", "--credit-code", to, "--name", "新发证机关", "--region", "350100",
			"--kind", "issuer,seal-user", "--responsible-name", "李四", "--responsible-phone", "13900000000"); code != 0 {
			t.Fatalf("org create: %s", errOut)
		}
		cat, err := i18n.New()
		if err != nil {
			t.Fatal(err)
		}
		a := &app{cat: cat}
		a.cfg.Data, a.cfg.DB, a.cfg.Lang = data, dsn, "en"
		err = a.withPlatform(context.Background(), func(p *platform.Platform) error {
			ctx := context.Background()
			plat, err := p.Orgs.Platform(ctx)
			if err != nil {
				return err
			}
			actor := func(home string, r authz.Role) *authz.Actor {
				acc, err := p.Orgs.CreateAccount(ctx, org.NewAccount{Org: home, Name: "t-" + string(r), Roles: []authz.Role{r}})
				if err != nil {
					t.Fatal(err)
				}
				return &authz.Actor{AccountID: acc.ID, Org: home, Roles: acc.Roles}
			}
			admin, keeper, approver := actor(to, authz.OrgAdmin), actor(to, authz.SealKeeper), actor(plat.CreditCode, authz.SealApprover)
			bindLicenseSeal(t, p, admin, keeper, approver)
			_, err = p.Orgs.CreateAccount(ctx, org.NewAccount{Org: to, Name: defaultIssuerAccount, Roles: []authz.Role{authz.Issuer}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		code, out, errOut := cmd("license", "transfer", "--from", issued.License.Issuer, "--to", to, "--reason", "机构改革", "--json")
		if code != 0 {
			t.Fatalf("transfer: %d %s", code, errOut)
		}
		var j api.LicenseTransfer
		if err := json.Unmarshal([]byte(out), &j); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if j.State != "done" || j.Moved != 1 || j.Cursor != issued.License.ID || !strings.Contains(errOut, "moved 1/1 licenses") {
			t.Errorf("transfer: %+v, stderr %q", j, errOut)
		}
		if code, out, errOut := cmd("license", "get", issued.License.ID, "--issuer", to); code != 0 || !strings.Contains(out, to) {
			t.Errorf("get the moved license from its new issuer: %d %q %q", code, out, errOut)
		}
		if code, _, errOut := cmd("license", "transfer", "--resume", j.ID); code != ExitInvalid || !strings.Contains(errOut, "is done") {
			t.Errorf("resume a done job: %d %q", code, errOut)
		}
		if code, _, _ := cmd("license", "transfer", "--reason", "x"); code != ExitUsage {
			t.Errorf("no job: exit %d, want %d", code, ExitUsage)
		}
	})
}
