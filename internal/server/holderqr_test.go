package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/holder"
	"github.com/zhengzhao/zhengzhao/internal/present"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/verify"
)

// holderWang returns the holder 王建国, the holder of newLicenseEnv's
// licenses, as the audit log names him.
func holderWang(t *testing.T, le licenseEnv) holder.Holder {
	t.Helper()
	h, err := le.p.Holders.Ensure(context.Background(), holder.Claims{Kind: catalog.HolderPerson, Identifier: "11010519491231002X", Name: "王建国"})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// decodePNG reads the QR code of a PNG the platform drew with gozxing.
// The picture is the code alone, so it is read as a pure barcode: the
// general detector, made for photographs, misses about one code in fifty
// of these synthetic pictures.
func decodePNG(t *testing.T, b []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("decode the PNG: %v", err)
	}
	return res.GetText()
}

// issuedToOther issues a license of newLicenseEnv's type to 李四.
func issuedToOther(t *testing.T, le licenseEnv) api.License {
	t.Helper()
	var other api.License
	le.do(http.MethodPost, "/api/v1/licenses", le.issuer, le.permit(t, func(m map[string]any) {
		var face map[string]any
		if err := json.Unmarshal(le.sample, &face); err != nil {
			t.Fatal(err)
		}
		face["citizen_id"], face["name"] = "110105198001010016", "李四"
		m["holder_id"], m["holder_name"], m["face"] = "110105198001010016", "李四", face
	})).want(t, http.StatusCreated, "issue to another").decode(t, &other)
	return other
}

// TestHolderQROverTheAPI: the holder makes a QR payload of its own
// license that verifies offline, as JSON, as JSON with the SVG, as a PNG
// gozxing reads; each is logged with the holder as actor. Another
// holder's license and one that does not exist are 404 and logged as
// refused; a staff token is 403; a suspended license is 409 naming its
// state, and none of the refusals is logged as presented.
func TestHolderQROverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := newLicenseEnv(t, db)
		mine, _ := le.issued(t)
		other := issuedToOther(t, le)
		session := le.holderSession(t)
		h := holderWang(t, le)
		url := "/api/v1/me/licenses/" + mine.ID + "/qr"

		var p api.Presentation
		le.do(http.MethodPost, url, session, `{"disclose":["issuing_authority"],"ttl":90}`).want(t, http.StatusCreated, "my QR").decode(t, &p)
		if p.LicenseID != mine.ID || p.Holder != "王**" || p.Fields["issuing_authority"] == nil || p.SVG != "" ||
			!p.ExpiresAt.Equal(p.IssuedAt.Add(90*time.Second)) {
			t.Errorf("presentation %+v", p)
		}
		bundle, err := verify.OpenBundle(le.do(http.MethodGet, "/api/v1/licenses/trust-bundle", "", "").want(t, http.StatusOK, "bundle").body, "")
		if err != nil {
			t.Fatal(err)
		}
		check := func(payload string) {
			t.Helper()
			if v := verify.Presentation(context.Background(), payload, bundle, time.Now()); !v.Valid || v.Presented.LicenseID != mine.ID {
				t.Errorf("verdict %+v", v.Checks)
			}
		}
		check(p.Payload)
		var withSVG api.Presentation
		le.do(http.MethodPost, url, session, `{"format":"json-svg"}`).want(t, http.StatusCreated, "json-svg").decode(t, &withSVG)
		if !strings.HasPrefix(withSVG.SVG, "<svg ") || withSVG.Payload == "" || withSVG.Payload == p.Payload {
			t.Fatalf("json-svg %.80s / %.80s", withSVG.Payload, withSVG.SVG)
		}
		check(withSVG.Payload)
		r := le.do(http.MethodPost, url, session, `{"format":"png","scale":3}`).want(t, http.StatusCreated, "png")
		if ct := r.header.Get("Content-Type"); ct != "image/png" {
			t.Fatalf("Content-Type %q", ct)
		}
		check(decodePNG(t, r.body))
		r = le.do(http.MethodPost, url, session, `{"format":"svg"}`).want(t, http.StatusCreated, "svg")
		if !bytes.HasPrefix(r.body, []byte("<svg ")) {
			t.Errorf("svg %.40s", r.body)
		}
		presented := holderEntries(t, db, h.ID, "license.presented")
		if len(presented) != 4 {
			t.Fatalf("%d presentations logged with the holder as actor, want 4", len(presented))
		}
		if en := presented[0]; en.Subject != mine.ID || en.Org != le.issuerOrg || en.Details["by"] != "holder" || en.Details["disclosed"] != "issuing_authority" {
			t.Errorf("presented entry %+v", en)
		}

		// Another's license and none look alike, and are logged.
		for _, id := range []string{other.ID, "SC0001-610100-2026-999999-X"} {
			le.do(http.MethodPost, "/api/v1/me/licenses/"+id+"/qr", session, `{}`).want(t, http.StatusNotFound, "another's QR "+id)
		}
		if refused := holderEntries(t, db, h.ID, "license.refused"); len(refused) != 2 || refused[0].Subject != other.ID || refused[0].Details["what"] != "qr" {
			t.Errorf("refusals %+v, want 2, the first about %s", refused, other.ID)
		}
		le.do(http.MethodPost, url, le.issuer, `{}`).want(t, http.StatusForbidden, "a staff token on /me")
		le.do(http.MethodPost, "/api/v1/licenses/"+mine.ID+"/presentations", session, `{}`).want(t, http.StatusForbidden, "a holder on the issuer's route")
		pr := le.do(http.MethodPost, url, session, `{"ttl":601}`).want(t, http.StatusUnprocessableEntity, "ttl").problem(t)
		if len(pr.Errors) == 0 || !strings.HasSuffix(pr.Errors[0].Field, "ttl") {
			t.Errorf("problem %+v", pr.Errors)
		}

		// Not in force: suspended, then reported lost, is refused naming the state.
		for _, c := range []struct{ op, state string }{{"suspend", "suspended"}, {"report-lost", "reported-lost"}} {
			le.do(http.MethodPost, "/api/v1/licenses/"+mine.ID+"/transitions", le.issuer, `{"operation":"`+c.op+`","reason":"核查"}`).
				want(t, http.StatusOK, c.op)
			pb := le.do(http.MethodPost, url, session, `{}`).want(t, http.StatusConflict, c.state).problem(t)
			if !namesField(pb, "state", "in-force") || !strings.Contains(pb.Detail, c.state) {
				t.Errorf("%s: problem %+v", c.state, pb)
			}
			le.do(http.MethodPost, "/api/v1/licenses/"+mine.ID+"/presentations", le.issuer, `{}`).want(t, http.StatusConflict, "the issuer, "+c.state)
			le.do(http.MethodPost, "/api/v1/licenses/"+mine.ID+"/transitions", le.issuer, `{"operation":"resume","reason":"核查完毕"}`).
				want(t, http.StatusOK, "resume")
		}
		if n := len(holderEntries(t, db, h.ID, "license.presented")); n != 4 {
			t.Errorf("%d presentations logged after refusals, want 4", n)
		}
		le.do(http.MethodPost, url, session, `{}`).want(t, http.StatusCreated, "resumed, presented again")
	})
}

// TestConcurrentHolderQR: twenty QR requests of one holder at once all
// succeed, each with its own nonce and audit entry.
func TestConcurrentHolderQR(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		le := newLicenseEnv(t, db)
		l, _ := le.issued(t)
		session := le.holderSession(t)
		url := "/api/v1/me/licenses/" + l.ID + "/qr"
		le.do(http.MethodPost, url, session, `{}`).want(t, http.StatusCreated, "first QR, which makes the key")
		const n = 20
		nonces := make(chan string, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				r := le.do(http.MethodPost, url, session, `{"format":"json-svg"}`)
				if r.status != http.StatusCreated {
					t.Errorf("status %d: %s", r.status, r.body)
					return
				}
				var p api.Presentation
				if err := json.Unmarshal(r.body, &p); err != nil {
					t.Error(err)
					return
				}
				nonces <- p.Nonce
			})
		}
		wg.Wait()
		close(nonces)
		seen := map[string]bool{}
		for nonce := range nonces {
			seen[nonce] = true
		}
		if len(seen) != n {
			t.Errorf("%d distinct nonces of %d", len(seen), n)
		}
		if got := len(holderEntries(t, db, holderWang(t, le).ID, "license.presented")); got != n+1 {
			t.Errorf("%d presentations logged, want %d", got, n+1)
		}
	})
}

// TestHolderPrintoutOverTheAPI: the holder prints its own license, whose
// page's QR code verifies offline; another's is 404 and logged; a staff
// token is 403; each copy is logged with the holder as actor.
func TestHolderPrintoutOverTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		pdf := newPDFReader(t)
		le := newLicenseEnv(t, db)
		mine, _ := le.issued(t)
		other := issuedToOther(t, le)
		session := le.holderSession(t)
		h := holderWang(t, le)
		r := le.do(http.MethodGet, "/api/v1/me/licenses/"+mine.ID+"/printout?masked=true&lang=en", session, "").want(t, http.StatusOK, "my printout")
		if ct := r.header.Get("Content-Type"); ct != "application/pdf" || !strings.Contains(r.header.Get("Content-Disposition"), mine.ID+".pdf") {
			t.Errorf("headers %v", r.header)
		}
		bundle, err := verify.OpenBundle(le.do(http.MethodGet, "/api/v1/licenses/trust-bundle", "", "").want(t, http.StatusOK, "bundle").body, "")
		if err != nil {
			t.Fatal(err)
		}
		if v := verify.Presentation(context.Background(), pdf.qr(r.body), bundle, time.Now()); !v.Valid || v.Presented.LicenseID != mine.ID {
			t.Errorf("the printed QR: %+v", v.Checks)
		}
		le.do(http.MethodGet, "/api/v1/me/licenses/"+other.ID+"/printout", session, "").want(t, http.StatusNotFound, "another's printout")
		le.do(http.MethodGet, "/api/v1/me/licenses/"+mine.ID+"/printout", le.issuer, "").want(t, http.StatusForbidden, "a staff token")
		printed := holderEntries(t, db, h.ID, "license.printed")
		if len(printed) != 1 || printed[0].Subject != mine.ID || printed[0].Details["masked"] != "true" {
			t.Errorf("printed entries %+v", printed)
		}
		if refused := holderEntries(t, db, h.ID, "license.refused"); len(refused) != 1 || refused[0].Details["what"] != "printout" {
			t.Errorf("refusals %+v", refused)
		}
	})
}

// TestHolderQRRoundTrip is the holder's QR code from end to end, on a
// clock the test moves: issued; the holder signs in and asks for a PNG;
// the code, read back with gozxing, verifies offline against a fetched
// trust bundle, and fails as expired 61 s on; a using unit redeems it
// online once, then is refused the replay; the license revoked, the
// bundle fetched again once its max-age has passed fails the same
// payload on its status.
func TestHolderQRRoundTrip(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &fakeClock{t: time.Now()}
		le := newLicenseEnvAt(t, db, clk.now)
		l, _ := le.issued(t)
		session := le.holderSession(t)
		r := le.do(http.MethodPost, "/api/v1/me/licenses/"+l.ID+"/qr", session, `{"format":"png"}`).want(t, http.StatusCreated, "my QR code")
		payload := decodePNG(t, r.body)

		bundle := func() (verify.PresentationTrust, time.Duration) {
			t.Helper()
			r := le.do(http.MethodGet, "/api/v1/licenses/trust-bundle", "", "").want(t, http.StatusOK, "bundle")
			b, err := verify.OpenBundle(r.body, "")
			if err != nil {
				t.Fatal(err)
			}
			var secs int
			if _, err := fmt.Sscanf(r.header.Get("Cache-Control"), "public, max-age=%d", &secs); err != nil || secs <= 0 {
				t.Fatalf("Cache-Control %q: %v", r.header.Get("Cache-Control"), err)
			}
			return b, time.Duration(secs) * time.Second
		}
		b, maxAge := bundle()
		if v := verify.Presentation(ctx, payload, b, clk.now()); !v.Valid || v.Presented.LicenseID != l.ID {
			t.Fatalf("offline, at once: %+v", v.Checks)
		}
		onlyFailed(t, verify.Presentation(ctx, payload, b, clk.now().Add(61*time.Second)).Verdict, verify.CheckExpiry)

		unit := le.tokens[authz.UsingUnit]
		if v := le.redeem(t, unit, payload, "户籍业务办理"); !v.Valid || v.LicenseID != l.ID {
			t.Fatalf("online, first: %+v", v.Checks)
		}
		onlyFailed(t, le.redeem(t, unit, payload, "").Verdict, present.CheckReplay)

		le.do(http.MethodPost, "/api/v1/licenses/"+l.ID+"/transitions", le.issuer, `{"operation":"revoke","reason":"依法吊销"}`).
			want(t, http.StatusOK, "revoke")
		clk.add(maxAge)
		b, _ = bundle()
		if c := failed(t, verify.Presentation(ctx, payload, b, clk.now()).Verdict, verify.CheckStatus); !strings.Contains(c.Reason, "revoked") {
			t.Errorf("after the revocation: %+v", c)
		}
	})
}
