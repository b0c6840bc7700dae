package server_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	qrcode "github.com/yeqown/go-qrcode/v2"

	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/internal/testskip"
	"github.com/zhengzhao/zhengzhao/verify"
)

// e2eDir holds the browser tests of internal/web and their npm
// dependencies (npm ci there, with PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1).
const e2eDir = "../web/e2e"

// staleAhead is how far ahead the clock of the page judging the "stale"
// case is (ZZ_STALE_AHEAD_MS): past verify.DefaultMaxStatusAge.
const staleAhead = 25 * time.Hour

// chromium is the browser the tests drive: Debian's, never a download.
const chromium = "/usr/bin/chromium"

// browserTools skips (fails under CI=true) when node, Chromium or the
// test's npm dependencies are missing.
func browserTools(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		testskip.Missing(t, "Node.js", "apt-get install nodejs npm")
	}
	if _, err := os.Stat(chromium); err != nil {
		testskip.Missing(t, "Chromium", "apt-get install chromium")
	}
	if _, err := os.Stat(filepath.Join(e2eDir, "node_modules", "@playwright", "test")); err != nil {
		testskip.Missing(t, "Playwright", "cd internal/web/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci")
	}
}

// TestVerifierPage drives the verifier page (internal/web) in Chromium
// against a real server: payloads the platform presents are verified in
// the page's own JavaScript — valid, tampered, malformed, revoked,
// expired, in zh-CN and en, and offline from the service worker's cache
// and the saved trust bundle — and every verdict of the page agrees with
// verify.Presentation on the same payload and bundle. Screenshots go to
// $ZHENGZHAO_SCREENSHOTS (a temporary directory by default).
func TestVerifierPage(t *testing.T) {
	browserTools(t)
	ctx := context.Background()
	db := storetest.OpenSQLite(t)
	le := newLicenseEnv(t, db)
	issuer, err := le.p.Orgs.Authenticate(ctx, le.issuer)
	if err != nil {
		t.Fatal(err)
	}
	present := func(id string, ttl time.Duration) string {
		t.Helper()
		pr, err := le.p.Licenses.Present(ctx, issuer, id, license.PresentRequest{
			Disclose: []string{"issuing_authority", "residence_address"}, TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return pr.Payload
	}
	good, _ := le.issued(t)
	revoked, _ := le.issued(t)
	valid := present(good.ID, 10*time.Minute)
	cases := map[string]string{
		"valid":    valid,
		"tampered": tamper(t, valid),
		"prefix":   "HC1:" + strings.TrimPrefix(valid, "ZZ1:"),
		"truncate": valid[:len(valid)/2],
		"revoked":  present(revoked.ID, 10*time.Minute),
		"expired":  present(good.ID, time.Second),
		"offline":  present(good.ID, 10*time.Minute),
		// Judged by a page whose clock is a day ahead (staleAhead): the
		// bundle's status lists are too old to tell.
		"stale": valid,
		// Malformed inputs each reader must refuse alike.
		"bad-long":             "ZZ1:" + strings.Repeat("0", 4300),
		"bad-alphabet":         "ZZ1:" + strings.ToLower(strings.TrimPrefix(valid, "ZZ1:")),
		"bad-length":           valid + "0",
		"bad-empty":            "ZZ1:",
		"bad-lowercase-prefix": "zz1:" + strings.TrimPrefix(valid, "ZZ1:"),
	}
	// A platform whose operator made an ECDSA P-256 presentation key
	// before the first presentation: its payloads are ES256.
	le256 := newLicenseEnv(t, storetest.OpenSQLite(t))
	if _, err := le256.keys.Create(ctx, keyring.NewKey{Org: le256.platform, Name: keyring.PresentationKeyName,
		Purpose: keyring.Presentation, Algorithm: keys.ECDSAP256}); err != nil {
		t.Fatal(err)
	}
	issuer256, err := le256.p.Orgs.Authenticate(ctx, le256.issuer)
	if err != nil {
		t.Fatal(err)
	}
	l256, _ := le256.issued(t)
	pr, err := le256.p.Licenses.Present(ctx, issuer256, l256.ID, license.PresentRequest{Disclose: []string{"issuing_authority"}, TTL: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	cases256 := map[string]string{"es256": pr.Payload, "es256-tampered": tamper(t, pr.Payload)}
	// Signed by the other platform's key, which this one's bundle lacks.
	cases["foreign"] = pr.Payload

	// Revoked after it was presented, before any bundle is built: the
	// page's fresh bundle carries the bit.
	le.setState(t, revoked, status.Revoked)
	time.Sleep(2500 * time.Millisecond) // the one-second payload expires, skew included

	srv := httptest.NewServer(le.h)
	defer srv.Close()
	srv256 := httptest.NewServer(le256.h)
	defer srv256.Close()
	shots := screenshotDir(t)
	verdicts := t.TempDir()
	// The valid payload as a picture to pick, and as the camera's video.
	qr := qrImage(t, cases["valid"])
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, qr); err != nil {
		t.Fatal(err)
	}
	media := t.TempDir()
	pngFile, y4mFile := filepath.Join(media, "valid.png"), filepath.Join(media, "valid.y4m")
	if err := os.WriteFile(pngFile, pngBuf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(y4mFile, y4m(qr), 0o600); err != nil {
		t.Fatal(err)
	}
	payloads, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	payloads256, err := json.Marshal(cases256)
	if err != nil {
		t.Fatal(err)
	}
	playwright(ctx, t, "verifier.spec.js", shots, "ZZ_BASE_URL="+srv.URL, "ZZ_PAYLOADS="+string(payloads),
		"ZZ_ES256_URL="+srv256.URL, "ZZ_ES256_PAYLOADS="+string(payloads256),
		"ZZ_VERDICTS="+verdicts, "ZZ_QR_PNG="+pngFile, "ZZ_STALE_AHEAD_MS="+strconv.FormatInt(staleAhead.Milliseconds(), 10), "ZZ_QR_Y4M="+y4mFile)

	// The page's verdicts agree with verify.Presentation's.
	agree(t, le, verdicts, cases)
	agree(t, le256, verdicts, cases256)
}

// screenshotDir is where the browser tests save their screenshots:
// $ZHENGZHAO_SCREENSHOTS, or a temporary directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("ZHENGZHAO_SCREENSHOTS"); d != "" {
		return d
	}
	return t.TempDir()
}

// playwright runs one spec of internal/web/e2e in Chromium with env (the
// server's URL, the cases) and fails the test when a case fails; the
// screenshots go to shots.
func playwright(ctx context.Context, t *testing.T, spec, shots string, env ...string) {
	t.Helper()
	cmdCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cmdCtx, "node", "node_modules/@playwright/test/cli.js", "test", "--reporter=line", spec)
	cmd.Dir = e2eDir
	cmd.Env = append(append(os.Environ(), env...), "ZZ_SHOTS="+shots, "ZZ_CHROMIUM="+chromium, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
	out, err := cmd.CombinedOutput()
	t.Logf("playwright:\n%s\nscreenshots in %s", out, shots)
	if err != nil {
		t.Fatalf("playwright: %v", err)
	}
}

// agree compares the verdicts the page wrote to verdicts/NAME.json with
// verify.Presentation's on the same payloads and the platform's bundle now.
func agree(t *testing.T, le licenseEnv, verdicts string, cases map[string]string) {
	t.Helper()
	r := le.do(http.MethodGet, "/api/v1/licenses/trust-bundle", "", "").want(t, http.StatusOK, "trust bundle")
	bundle, err := verify.OpenBundle(r.body, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, payload := range cases {
		raw, err := os.ReadFile(filepath.Join(verdicts, name+".json"))
		if err != nil {
			t.Errorf("%s: the page wrote no verdict: %v", name, err)
			continue
		}
		var page pageVerdict
		if err := json.Unmarshal(raw, &page); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		at := time.Now()
		if name == "stale" {
			at = at.Add(staleAhead)
		}
		goV := verify.Presentation(context.Background(), payload, bundle, at)
		if got, want := page.summary(), summarize(goV.Checks, goV.Valid); got != want {
			t.Errorf("%s: the page says %s, verify.Presentation %s\npage: %s\ngo: %+v", name, got, want, raw, goV.Checks)
		}
		if (page.Presented == nil) != (goV.Presented == nil) {
			t.Errorf("%s: presented %v in the page, %v in Go", name, page.Presented, goV.Presented)
			continue
		}
		if goV.Presented != nil {
			p, g := page.Presented, goV.Presented
			if p.LicenseID != g.LicenseID || p.Holder != g.Holder || p.Nonce != g.Nonce || p.KID != g.KID ||
				!p.IssuedAt.Equal(g.IssuedAt) || !p.Expires.Equal(g.Expires) || len(p.Fields) != len(g.Fields) {
				t.Errorf("%s: presented %+v in the page, %+v in Go", name, p, g)
			}
			for k, v := range g.Fields {
				if fmt.Sprint(p.Fields[k]) != fmt.Sprint(v) {
					t.Errorf("%s: field %s is %v in the page, %v in Go", name, k, p.Fields[k], v)
				}
			}
		}
	}
}

// pageVerdict is the verdict the page shows, as its data-verdict holds it.
type pageVerdict struct {
	Valid  bool `json:"valid"`
	Checks []struct {
		Name    string `json:"name"`
		OK      bool   `json:"ok"`
		Unknown bool   `json:"unknown"`
	} `json:"checks"`
	Presented *verify.Presented `json:"presented"`
}

// summary is the page's verdict as summarize says it.
func (v pageVerdict) summary() string {
	var checks []verify.Check
	for _, c := range v.Checks {
		checks = append(checks, verify.Check{Name: c.Name, OK: c.OK, Unknown: c.Unknown})
	}
	return summarize(checks, v.Valid)
}

// summarize says which checks passed, failed or were unknown, and the outcome.
func summarize(checks []verify.Check, valid bool) string {
	var b strings.Builder
	for _, c := range checks {
		b.WriteString(checkMark(c.Name, c.OK, c.Unknown))
	}
	return b.String() + map[bool]string{true: "valid", false: "not valid"}[valid]
}

func checkMark(name string, ok, unknown bool) string {
	switch {
	case ok:
		return name + "✓ "
	case unknown:
		return name + "? "
	}
	return name + "✗ "
}

// qrImage draws payload as a QR code (error correction L, a quiet zone of
// four modules, four pixels a module), as license present --png does.
func qrImage(t *testing.T, payload string) *image.Gray {
	t.Helper()
	q, err := qrcode.NewWith(payload, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionLow))
	if err != nil {
		t.Fatal(err)
	}
	var m qrModules
	if err := q.Save(&m); err != nil {
		t.Fatal(err)
	}
	const quiet, scale = 4, 4
	size := (len(m.bits) + 2*quiet) * scale
	size += size % 2 // 4:2:0 video needs even sides
	img := image.NewGray(image.Rect(0, 0, size, size))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for r, row := range m.bits {
		for c, dark := range row {
			if dark {
				for y := range scale {
					for x := range scale {
						img.Pix[((quiet+r)*scale+y)*img.Stride+(quiet+c)*scale+x] = 0
					}
				}
			}
		}
	}
	return img
}

// qrModules is a qrcode.Writer that keeps the modules.
type qrModules struct{ bits [][]bool }

func (m *qrModules) Write(mat qrcode.Matrix) error { m.bits = mat.Bitmap(); return nil }
func (m *qrModules) Close() error                  { return nil }

// y4m is a one-frame YUV4MPEG2 video of a grey picture, which Chromium's
// fake camera (--use-file-for-fake-video-capture) plays in a loop.
func y4m(img *image.Gray) []byte {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	var b bytes.Buffer
	fmt.Fprintf(&b, "YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\nFRAME\n", w, h)
	b.Write(img.Pix)
	b.Write(bytes.Repeat([]byte{0x80}, w*h/2)) // U and V: no colour
	return b.Bytes()
}

// tamper changes the last byte of a payload's signature and encodes it
// again: a well-formed payload whose signature does not verify.
func tamper(t *testing.T, payload string) string {
	t.Helper()
	z := base45Decode(t, strings.TrimPrefix(payload, "ZZ1:"))
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	cose, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	cose[len(cose)-1] ^= 0x01
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	if _, err := zw.Write(cose); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return "ZZ1:" + base45Encode(buf.Bytes())
}

const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

func base45Encode(b []byte) string {
	var s strings.Builder
	for i := 0; i < len(b); i += 2 {
		if i+1 < len(b) {
			n := int(b[i])<<8 | int(b[i+1])
			s.WriteByte(base45Alphabet[n%45])
			s.WriteByte(base45Alphabet[n/45%45])
			s.WriteByte(base45Alphabet[n/2025])
		} else {
			n := int(b[i])
			s.WriteByte(base45Alphabet[n%45])
			s.WriteByte(base45Alphabet[n/45])
		}
	}
	return s.String()
}

func base45Decode(t *testing.T, s string) []byte {
	t.Helper()
	var out []byte
	for i := 0; i < len(s); i += 3 {
		n, mul := 0, 1
		for j := i; j < min(i+3, len(s)); j++ {
			n += strings.IndexByte(base45Alphabet, s[j]) * mul
			mul *= 45
		}
		if i+2 < len(s) {
			out = append(out, byte(n>>8), byte(n))
		} else {
			out = append(out, byte(n))
		}
	}
	return out
}
