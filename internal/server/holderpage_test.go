package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/holder"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/verify"
)

// TestHolderPage drives the holder page (internal/web) in Chromium against
// a real server offering the demo login, with licenses issued to two
// holders, one of them suspended: the Playwright spec
// internal/web/e2e/holder.spec.js signs in, lists, reads, downloads,
// shows a license's dynamic QR code and lets it renew itself, in zh-CN on
// a phone and in English on a desktop, and signs in through an OpenID
// provider on a platform that has one. The QR codes it shows are decoded
// here from its screenshots and verified with verify.Presentation.
func TestHolderPage(t *testing.T) {
	browserTools(t)
	ctx := context.Background()
	db := storetest.OpenSQLite(t)
	le := newLicenseEnv(t, db)
	issue := func(citizenID, name string) string {
		t.Helper()
		var l api.License
		le.do(http.MethodPost, "/api/v1/licenses", le.issuer, le.permit(t, func(m map[string]any) {
			var face map[string]any
			if err := json.Unmarshal(le.sample, &face); err != nil {
				t.Fatal(err)
			}
			face["citizen_id"], face["name"] = citizenID, name
			m["holder_id"], m["holder_name"], m["face"] = citizenID, name, face
		})).want(t, http.StatusCreated, "issue").decode(t, &l)
		return l.ID
	}
	mine, suspended := issue("11010519491231002X", "王建国"), issue("11010519491231002X", "王建国")
	theirs := issue("110105198001010016", "李四")
	le.do(http.MethodPost, "/api/v1/licenses/"+suspended+"/transitions", le.issuer, `{"operation":"suspend","reason":"核查中"}`).
		want(t, http.StatusOK, "suspend")

	// A serve process of the same platform with the demo login on, as
	// `zhengzhao demo` starts it.
	demo := newProcessWith(t, db, platform.Options{Clock: time.Now, PublicURL: publicURL, Holders: holder.Config{Demo: true}})
	srv := httptest.NewServer(demo.h)
	defer srv.Close()
	// And one that signs holders in through an OpenID provider.
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() }) //nolint:errcheck // the test is over
	oidc := newOIDCPlatform(t, db, m, new(atomic.Int64))
	m.QueueUser(oidcUser{sub: "person-page", citizenID: "11010519491231002X", name: "王建国"})
	// The audit log is integrated as serve integrates it, so that the
	// holder's view of its entries has the entries to show.
	ictx, stopIntegrating := context.WithCancel(ctx)
	integrated := make(chan struct{})
	go func() {
		defer close(integrated)
		(&auditlog.Integrator{Store: db, Interval: 100 * time.Millisecond}).Run(ictx)
	}()
	defer func() { stopIntegrating(); <-integrated }()
	shots := screenshotDir(t)
	out := t.TempDir()
	who := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	unit, _ := le.grantUnit(t, "PC0001")
	playwright(ctx, t, "holder.spec.js", shots, "ZZ_BASE_URL="+srv.URL, "ZZ_OIDC_URL="+oidc.srv.URL, "ZZ_OUT="+out,
		"ZZ_UNIT="+who(map[string]any{"code": unit, "matter": "HUJI", "name": "户籍迁移"}),
		"ZZ_HOLDER="+who(map[string]any{"citizen_id": "11010519491231002X", "name": "王建国", "licenses": []string{mine, suspended}, "suspended": suspended}),
		"ZZ_OTHER="+who(map[string]any{"citizen_id": "110105198001010016", "name": "李四", "licenses": []string{theirs}}))

	// The codes the page showed, read from its screenshots, are the
	// payloads it was given, and verify: valid, of the license shown, the
	// fields picked disclosed; the renewed one is another payload.
	r := le.do(http.MethodGet, "/api/v1/licenses/trust-bundle", "", "").want(t, http.StatusOK, "trust bundle")
	bundle, err := verify.OpenBundle(r.body, "")
	if err != nil {
		t.Fatal(err)
	}
	var payloads []string
	for _, n := range []string{"qr-1", "qr-2"} {
		raw, err := os.ReadFile(filepath.Join(out, n+".png"))
		if err != nil {
			t.Fatal(err)
		}
		payload := decodeQR(t, raw)
		if shown, err := os.ReadFile(filepath.Join(out, n+".txt")); err != nil || string(shown) != payload {
			t.Errorf("%s: the picture holds %.40q…, the page said %.40q… (%v)", n, payload, shown, err)
		}
		// Verified as a scanner would have, when the page showed it: the
		// code lives a minute, and the browser tests go on for longer.
		shownAt, err := os.Stat(filepath.Join(out, n+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		v := verify.Presentation(ctx, payload, bundle, shownAt.ModTime())
		if !v.Valid || v.Presented == nil || v.Presented.LicenseID != mine || len(v.Presented.Fields) != 2 ||
			v.Presented.Fields["issuing_authority"] == nil || v.Presented.Fields["residence_address"] == nil {
			t.Errorf("%s: %+v", n, v)
		}
		payloads = append(payloads, payload)
	}
	if payloads[0] == payloads[1] {
		t.Error("the renewed code is the same payload")
	}

	// The page's grant is in the store as the holder made it, withdrawn,
	// each step with its audit entry.
	gs, err := db.ListGrants(ctx, license.GrantFilter{Org: unit, Limit: 10})
	if err != nil || len(gs) != 1 || gs[0].LicenseID != mine || gs[0].Matter != "HUJI" || gs[0].State != license.GrantWithdrawn ||
		strings.Join(gs[0].Fields, ",") != "name" {
		t.Fatalf("the page's grants %+v, %v", gs, err)
	}
	entries, _ := storetest.AuditEntries(t, db)
	var granted, withdrawn int
	for _, e := range entries {
		if e.Subject == mine && e.Details["grant"] == gs[0].ID {
			switch e.Action {
			case "license.granted":
				granted++
			case "license.grant-withdrawn":
				withdrawn++
			}
		}
	}
	if granted != 1 || withdrawn != 1 {
		t.Errorf("audit: %d grants, %d withdrawals of the page's grant", granted, withdrawn)
	}
}

// decodeQR reads the QR code of a PNG picture with gozxing.
func decodeQR(t *testing.T, raw []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	// A picture of the code alone (a screenshot of the page's code) is
	// read as a pure barcode, which needs no finder-pattern search; a
	// picture of a whole page is searched. A screenshot at 3x density has
	// antialiased module edges, so smaller samplings of it are tried too.
	var errs []error
	for _, step := range []int{1, 2, 3} {
		bmp, err := gozxing.NewBinaryBitmapFromImage(sample(img, step))
		if err != nil {
			t.Fatal(err)
		}
		for _, hint := range []gozxing.DecodeHintType{gozxing.DecodeHintType_PURE_BARCODE, gozxing.DecodeHintType_TRY_HARDER} {
			res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{hint: true})
			if err == nil {
				return res.GetText()
			}
			errs = append(errs, err)
		}
	}
	t.Fatalf("decode the QR code: %v", errors.Join(errs...))
	return ""
}

// sample keeps every step-th pixel of img in both directions.
func sample(img image.Image, step int) image.Image {
	if step == 1 {
		return img
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx()/step, b.Dy()/step))
	for y := range out.Rect.Dy() {
		for x := range out.Rect.Dx() {
			out.Set(x, y, img.At(b.Min.X+x*step, b.Min.Y+y*step))
		}
	}
	return out
}

// TestPagesPublicEndpoints: what the pages read without a token. The
// login options say which sign-ins are on; the face labels of an approved
// template version are public, a draft's or a missing version's are 404.
func TestPagesPublicEndpoints(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := newLicenseEnv(t, db)
		var o api.HolderLoginOptions
		le.do(http.MethodGet, "/api/v1/holder/login-options", "", "").want(t, http.StatusOK, "login options").decode(t, &o)
		if o.OIDC || o.Demo {
			t.Errorf("login options %+v, want none", o)
		}
		demo := newProcessWith(t, db, platform.Options{Clock: time.Now, PublicURL: publicURL, Holders: holder.Config{Demo: true}})
		demo.do(http.MethodGet, "/api/v1/holder/login-options", "", "").want(t, http.StatusOK, "login options, demo").decode(t, &o)
		if o.OIDC || !o.Demo {
			t.Errorf("login options of the demo %+v, want the demo login", o)
		}

		var l api.FaceLabels
		le.do(http.MethodGet, "/api/v1/catalog/types/PC0001/versions/1/labels", "", "").want(t, http.StatusOK, "labels").decode(t, &l)
		byKey := map[string]api.FieldLabel{}
		for _, f := range l.Fields {
			byKey[f.Key] = f
		}
		if l.TypeCode != "PC0001" || l.TypeVersion != 1 || l.Name.ZH != "居住证" || l.Name.EN != "Residence permit" ||
			byKey["issuing_authority"].Label.ZH != "签发机关" || byKey["issuing_authority"].Sensitivity != "public" ||
			byKey["citizen_id"].Sensitivity != "sensitive" || len(l.Fields) != 9 {
			t.Errorf("labels %+v", l)
		}
		// A draft is not published.
		v1, err := le.p.Catalog.GetVersion(context.Background(), "PC0001", 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := le.p.Catalog.ProposeVersion(context.Background(), nil, "PC0001", v1.Template); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"PC0001/versions/2", "PC0001/versions/3", "ZZ0001/versions/1"} {
			le.do(http.MethodGet, "/api/v1/catalog/types/"+p+"/labels", "", "").want(t, http.StatusNotFound, "labels of "+p)
		}
	})
}
