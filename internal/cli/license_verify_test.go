package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/keys/envelope"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/internal/store"
)

// issueInDataDir issues a residence permit in the store of data (made by
// the command, with its master key) through the services, as an issuer
// with a bound license-issuing seal would, and returns its document and
// slot.
func issueInDataDir(t *testing.T, data string) ([]byte, status.Slot) {
	t.Helper()
	var doc []byte
	var slot status.Slot
	issuingPlatform(t, data, func(p *platform.Platform, issuer *authz.Actor, sample json.RawMessage) {
		out, err := p.Licenses.Issue(context.Background(), issuer, license.NewLicense{Type: "PC0001", HolderID: "11010519491231002x", HolderName: "王建国", Face: sample})
		if err != nil {
			t.Fatal(err)
		}
		doc, slot = out.Document, out.License.Slot
	})
	return doc, slot
}

// openUnlocked opens the store of dsn (or of data) that commands made, with
// the master key of data, closed when the test ends.
func openUnlocked(t *testing.T, dsn, data string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn, data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	m, err := envelope.LoadMasterKeyFile(filepath.Join(data, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Unlock(ctx, m, envelope.DefaultSuite, rand.Reader); err != nil {
		t.Fatal(err)
	}
	return db
}

// serveWeb serves p's handler as serve would, until the test ends.
func serveWeb(t *testing.T, p *platform.Platform) *httptest.Server {
	t.Helper()
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.Web(platform.HTTP{Catalog: cat, Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()}).Handler)
	t.Cleanup(srv.Close)
	return srv
}

// issuingPlatform opens the store of data (made by the command, with its
// master key) and gives issue the platform, with an issuer whose bound
// license-issuing seal signs residence permits, and the type's sample face.
func issuingPlatform(t *testing.T, data string, issue func(p *platform.Platform, issuer *authz.Actor, sample json.RawMessage)) {
	t.Helper()
	ctx := context.Background()
	if code, _, errOut := run(t, "migrate", "--data", data); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	db := openUnlocked(t, "", data)
	p, err := platform.New(db, platform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	plat := "91350100M000100Y43"
	issuerOrg, err := ids.NewCreditCode('1', '1', "350100", "MB000002")
	must(err)
	for _, o := range []org.NewOrg{
		{CreditCode: plat, Name: "平台", Kinds: []org.Kind{org.KindPlatform}},
		{CreditCode: issuerOrg, Name: "福州市公安局", Kinds: []org.Kind{org.KindIssuer, org.KindSealUser}, Parent: plat},
	} {
		o.Region, o.Responsible = "350100", org.Responsible{Name: "张三", Phone: "13800000000"}
		_, err := p.Orgs.CreateOrg(ctx, o)
		must(err)
	}
	actor := func(home, name string, r authz.Role) *authz.Actor {
		a, err := p.Orgs.CreateAccount(ctx, org.NewAccount{Org: home, Name: name, Roles: []authz.Role{r}})
		must(err)
		return &authz.Actor{AccountID: a.ID, Org: home, Roles: a.Roles}
	}
	issuer, admin, keeper := actor(issuerOrg, "issuer", authz.Issuer), actor(issuerOrg, "admin", authz.OrgAdmin), actor(issuerOrg, "keeper", authz.SealKeeper)
	approver, platformAdmin := actor(plat, "approver", authz.SealApprover), actor(plat, "platform-admin", authz.PlatformAdmin)
	_, err = p.PKI.InitRoot(ctx, plat, "root", "平台根证书", "", 20)
	must(err)
	defs, err := catalog.Shipped()
	must(err)
	var sample json.RawMessage
	for _, d := range defs {
		if d.Type.Code != "PC0001" {
			continue
		}
		sample = d.Sample
		_, err := p.Catalog.DefineType(ctx, nil, d.Type)
		must(err)
		_, err = p.Catalog.ProposeVersion(ctx, nil, d.Type.Code, d.Template)
		must(err)
		_, err = p.Catalog.Approve(ctx, platformAdmin, d.Type.Code, 1, "")
		must(err)
	}
	decide := func(n seal.NewApplication) string {
		n.Org = issuerOrg
		a, err := p.Seals.Apply(ctx, admin, n)
		must(err)
		a, err = p.Seals.Decide(ctx, approver, a.ID, true, "同意")
		must(err)
		return a.SealID
	}
	sealID := decide(seal.NewApplication{Action: seal.Make, SealKind: seal.LicenseIssuing, Name: "证照专用章", Reason: "签发电子证照",
		Image: seal.SampleImage(), WidthMM: 40, HeightMM: 40, Keepers: []string{keeper.AccountID}, Justification: "测试"})
	decide(seal.NewApplication{Action: seal.Bind, SealID: sealID, Reason: "证照签发"})
	issue(p, issuer, sample)
}

// TestLicenseVerifyCommands verifies a license online against the store,
// exports the trust bundle, and verifies offline with it where there is no
// data directory at all: valid, a changed document, a changed bundle, a
// bundle signed by another root than the pinned one, status lists too old.
func TestLicenseVerifyCommands(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	doc, _ := issueInDataDir(t, data)
	docFile, changedFile := filepath.Join(dir, "license.json"), filepath.Join(dir, "changed.json")
	writeFile(t, docFile, doc)
	writeFile(t, changedFile, bytes.Replace(doc, []byte("王建国"), []byte("王建图"), 1))
	d := []string{"--data", data, "--lang", "en"}

	code, out, errOut := run(t, append([]string{"license", "verify", docFile}, d...)...)
	if code != 0 || !strings.Contains(out, "✓ status") || !strings.Contains(out, " valid (") {
		t.Fatalf("online verify: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := run(t, append([]string{"license", "verify", changedFile}, d...)...); code != 1 || !strings.Contains(out, "✗ signature") {
		t.Fatalf("online verify of a changed document: exit %d\n%s", code, out)
	}
	bundle := filepath.Join(dir, "trust.json")
	if code, _, errOut := run(t, append([]string{"license", "trust-bundle", "-o", bundle}, d...)...); code != 0 {
		t.Fatalf("trust-bundle: %s", errOut)
	}
	_, rootOut, _ := run(t, append([]string{"ca", "root", "--json"}, d...)...)
	var root api.Certificate
	if err := json.Unmarshal([]byte(rootOut), &root); err != nil {
		t.Fatal(err)
	}

	// Offline: no data directory, and none is made.
	none := filepath.Join(dir, "no-such-dir")
	off := func(args ...string) (int, string, string) {
		return run(t, append([]string{"license", "verify", "--lang", "en", "--data", none, "--trust"}, args...)...)
	}
	code, out, errOut = off(bundle, "--root-fingerprint", root.Fingerprint, docFile)
	if code != 0 || !strings.Contains(out, "✓ status") || !strings.Contains(out, "s old)") || !strings.Contains(out, "signed by the pinned root") {
		t.Fatalf("offline verify: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = off(bundle, docFile, "--json")
	var v struct {
		Valid     bool   `json:"valid"`
		LicenseID string `json:"license_id"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || !v.Valid || v.LicenseID == "" {
		t.Fatalf("offline verify --json: exit %d %s", code, out)
	}
	if code, out, _ := off(bundle, changedFile); code != 1 || !strings.Contains(out, "✗ signature") {
		t.Fatalf("offline verify of a changed document: exit %d\n%s", code, out)
	}
	if code, out, _ := off(bundle, "--max-status-age", "1ns", docFile); code != 1 || !strings.Contains(out, "older than the maximum age") {
		t.Fatalf("offline verify with stale status lists: exit %d\n%s", code, out)
	}
	// Another bundle, to stdout, with one approved version added.
	_, raw, _ := run(t, append([]string{"license", "trust-bundle"}, d...)...)
	tampered := filepath.Join(dir, "tampered.json")
	writeFile(t, tampered, []byte(strings.Replace(raw, `"approved": [`, `"approved": [7, `, 1)))
	if code, _, errOut := off(tampered, docFile); code != 2 || !strings.Contains(errOut, "changed after the platform signed it") {
		t.Fatalf("offline verify with a changed bundle: exit %d %q", code, errOut)
	}
	if code, _, errOut := off(bundle, "--root-fingerprint", strings.Repeat("0", 64), docFile); code != 2 || !strings.Contains(errOut, "pinned root") {
		t.Fatalf("offline verify with another pinned root: exit %d %q", code, errOut)
	}
	if code, _, _ := run(t, "license", "verify", "--root-fingerprint", root.Fingerprint, docFile, "--data", none); code != 2 {
		t.Fatalf("a pin without a bundle: exit %d, want 2", code)
	}
	if _, err := os.Stat(none); !os.IsNotExist(err) {
		t.Fatalf("offline verification made the data directory: %v", err)
	}
}

// TestLicenseVerifyBatch verifies licenses issued as one batch, online
// and offline: each is valid with its batch-inclusion check, and a changed
// one fails that check alone.
func TestLicenseVerifyBatch(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	var docs [][]byte
	issuingPlatform(t, data, func(p *platform.Platform, issuer *authz.Actor, sample json.RawMessage) {
		ns := []license.NewLicense{
			{Type: "PC0001", HolderID: "11010519491231002x", HolderName: "王建国", Face: sample},
			{Type: "PC0001", HolderID: "11010519491231002x", HolderName: "李秀英", Face: sample},
		}
		out, err := p.Licenses.IssueBatch(context.Background(), issuer, ns)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out {
			docs = append(docs, o.Document)
		}
	})
	first, changed := filepath.Join(dir, "first.json"), filepath.Join(dir, "changed.json")
	writeFile(t, first, docs[0])
	writeFile(t, changed, bytes.Replace(docs[1], []byte("李秀英"), []byte("李秀瑛"), 1))
	d := []string{"--data", data, "--lang", "en"}
	bundle := filepath.Join(dir, "trust.json")
	if code, _, errOut := run(t, append([]string{"license", "trust-bundle", "-o", bundle}, d...)...); code != 0 {
		t.Fatalf("trust-bundle: %s", errOut)
	}
	for _, mode := range [][]string{d, {"--lang", "en", "--data", filepath.Join(dir, "none"), "--trust", bundle}} {
		code, out, errOut := run(t, append([]string{"license", "verify", first}, mode...)...)
		if code != 0 || !strings.Contains(out, "✓ batch-inclusion") || !strings.Contains(out, "✓ signature") {
			t.Fatalf("verify %v: exit %d\n%s%s", mode, code, out, errOut)
		}
		code, out, _ = run(t, append([]string{"license", "verify", changed}, mode...)...)
		if code != 1 || !strings.Contains(out, "✗ batch-inclusion") || !strings.Contains(out, "✓ signature") {
			t.Fatalf("verify %v of a changed license: exit %d\n%s", mode, code, out)
		}
	}
}
