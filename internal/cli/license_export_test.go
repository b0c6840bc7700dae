package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/codec/vc"
	"github.com/zhengzhao/zhengzhao/internal/config"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/platform"
)

// runExport runs `license export` with args on the store of data and dsn.
// It finds the command under the license parent when rootCommand has one,
// and puts it under a parent of its own otherwise.
func runExport(t *testing.T, data, dsn string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	a := &app{cat: cat, stdout: &out, stderr: &errb}
	root := a.rootCommand()
	if c, _, err := root.Find([]string{"license", "export"}); err != nil || c.Name() != "export" {
		parent := &cobra.Command{Use: "license"}
		parent.AddCommand(a.licenseExportCommand())
		// As settingsOf will say for the license commands: the store, and
		// the token the platform's status-list key may be on.
		config.Bind(parent.PersistentFlags(), &a.cfg, config.Store, config.HSM)
		root.AddCommand(parent)
	}
	base := []string{"--data", data, "--lang", "en"}
	if dsn != "" {
		base = append(base, "--db", dsn)
	}
	root.SetArgs(append(append([]string{"license", "export"}, args...), base...))
	root.SetOut(&out)
	root.SetErr(&errb)
	err = root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// issueForExport makes what issuing needs — a platform, an issuing
// organization with a bound license-issuing seal, the residence permit
// approved — and issues one license, returning it.
func issueForExport(t *testing.T, cmd storeCmd, data, dsn string) license.Issued {
	t.Helper()
	const plat, issuer = "91350100M000100Y43", "11350100MB0000027N"
	for _, o := range [][]string{{plat, "平台", "platform"}, {issuer, "市公安局", "issuer,seal-user"}} {
		if code, _, errOut := cmd("org", "create", "--credit-code", o[0], "--name", o[1], "--region", "350100",
			"--kind", o[2], "--responsible-name", "李四", "--responsible-phone", "13900000000"); code != 0 {
			t.Fatalf("org create: %s", errOut)
		}
	}
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	a := &app{cat: cat}
	a.cfg.Data, a.cfg.DB, a.cfg.Lang = data, dsn, "en"
	var got license.Issued
	err = a.withPlatform(context.Background(), func(p *platform.Platform) error {
		ctx := context.Background()
		actor := func(home string, r authz.Role) *authz.Actor {
			acc, err := p.Orgs.CreateAccount(ctx, org.NewAccount{Org: home, Name: string(r), Roles: []authz.Role{r}})
			if err != nil {
				t.Fatal(err)
			}
			return &authz.Actor{AccountID: acc.ID, Org: home, Roles: acc.Roles}
		}
		admin, keeper, approver := actor(issuer, authz.OrgAdmin), actor(issuer, authz.SealKeeper), actor(plat, authz.SealApprover)
		if _, err := p.PKI.InitRoot(ctx, plat, "root", "平台根证书", "", 20); err != nil {
			return err
		}
		defs, err := catalog.Shipped()
		if err != nil {
			return err
		}
		var sample []byte
		for _, d := range defs {
			if d.Type.Code != "PC0001" {
				continue
			}
			sample = d.Sample
			if _, err := p.Catalog.DefineType(ctx, nil, d.Type); err != nil {
				return err
			}
			if _, err := p.Catalog.ProposeVersion(ctx, nil, d.Type.Code, d.Template); err != nil {
				return err
			}
			if _, err := p.Catalog.Approve(ctx, actor(plat, authz.PlatformAdmin), d.Type.Code, 1, ""); err != nil {
				return err
			}
		}
		bindLicenseSeal(t, p, admin, keeper, approver)
		got, err = p.Licenses.Issue(ctx, actor(issuer, authz.Issuer), license.NewLicense{Type: "PC0001",
			HolderID: "11010519491231002X", HolderName: "王建国", Face: sample})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestLicenseExportCommand exports an issued license as its document (to
// stdout) and as a credential (to a file, readable by its owner only), and
// refuses a bad format, a missing --issuer and another organization.
func TestLicenseExportCommand(t *testing.T) {
	onEachStore(t, func(t *testing.T, cmd storeCmd, data, dsn string) {
		issued := issueForExport(t, cmd, data, dsn)
		id, issuer := issued.License.ID, issued.License.Issuer

		out, _, err := runExport(t, data, dsn, "--account", "issuer", id)
		if err != nil || out != string(issued.Document) {
			t.Fatalf("export the document: %v, %d bytes, want the %d signed", err, len(out), len(issued.Document))
		}
		file := filepath.Join(t.TempDir(), "license.vc.json")
		_, errOut, err := runExport(t, data, dsn, "--account", "issuer", "--issuer", issuer, "--format", "vc", "-o", file, id)
		if err != nil || !strings.Contains(errOut, file) {
			t.Fatalf("export the credential: %v %q", err, errOut)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("credential file mode %v (%v), want 0600", fi.Mode(), err)
		}
		var pub any
		cat, _ := i18n.New()
		a := &app{cat: cat}
		a.cfg.Data, a.cfg.DB = data, dsn
		if err := a.withPlatform(context.Background(), func(p *platform.Platform) error {
			plat, err := p.Orgs.Platform(context.Background())
			if err != nil {
				return err
			}
			s, _, err := p.Keys.StatusListSigner(context.Background(), plat.CreditCode, "")
			pub = s.Public()
			return err
		}); err != nil {
			t.Fatal(err)
		}
		c, err := vc.Verify(b, pub)
		if err != nil {
			t.Fatalf("the exported credential does not verify: %v", err)
		}
		if err := c.Describes(issued.Document); err != nil {
			t.Errorf("the credential does not restate the document: %v", err)
		}

		for _, bad := range []struct {
			name string
			args []string
			exit int
		}{
			{"unknown format", []string{"--account", "issuer", "--format", "pdf", id}, ExitUsage},
			{"not an identifier", []string{"--account", "issuer", "PC0001"}, ExitUsage},
			{"an account that does not issue", []string{"--account", "org-admin", id}, ExitInvalid},
		} {
			out, _, err := runExport(t, data, dsn, bad.args...)
			var ee *exitError
			if err == nil || out != "" || !errors.As(err, &ee) || ee.code != bad.exit {
				t.Errorf("%s: %v, printed %d bytes; want exit %d", bad.name, err, len(out), bad.exit)
			}
		}
	})
}
