package printout

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/codec/ses"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/ca"
	"github.com/zhengzhao/zhengzhao/internal/testskip"
)

var issued = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// shipped returns the shipped definition of the type code.
func shipped(t testing.TB, code string) catalog.Definition {
	t.Helper()
	defs, err := catalog.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if d.Type.Code == code {
			return d
		}
	}
	t.Fatalf("no shipped type %s", code)
	return catalog.Definition{}
}

// licenseOf is a license of the shipped type with its sample face: the
// business license of docs/license-format.md's worked example, or a
// residence permit of the sample's person.
func licenseOf(t testing.TB, d catalog.Definition) license.License {
	t.Helper()
	var face map[string]any
	if err := json.Unmarshal(d.Sample, &face); err != nil {
		t.Fatal(err)
	}
	until := time.Date(2046, 11, 22, 16, 0, 0, 0, time.UTC)
	l := license.License{
		Format:     license.Format,
		ID:         "BL000111350102003603210T00000000425",
		Number:     "350102202600000042",
		Type:       license.Type{Code: d.Type.Code, Version: int64(d.Version)},
		Issuer:     license.Issuer{CreditCode: "11350102003603210T", Name: "福州市鼓楼区市场监督管理局"},
		Holder:     license.Holder{Kind: license.HolderOrganization, Identifier: fmt.Sprint(face["credit_code"]), Name: fmt.Sprint(face["name"])},
		IssuedAt:   issued,
		ValidFrom:  issued,
		ValidUntil: &until,
		Face:       d.Sample,
		Status: []license.StatusEntry{
			{Purpose: license.PurposeRevocation, ListURL: "https://zz.example.gov.cn/status/11350102003603210T/revocation/1", Index: 41},
			{Purpose: license.PurposeSuspension, ListURL: "https://zz.example.gov.cn/status/11350102003603210T/suspension/1", Index: 41},
		},
		Version: 1,
	}
	if d.Type.HolderKind == catalog.HolderPerson {
		l.ID = "PC000111350102003603210T0000000042H"
		l.Holder = license.Holder{Kind: license.HolderPerson, Identifier: "11010519491231002X", Name: fmt.Sprint(face["name"])}
	}
	return l
}

// signed returns the signed document of l: a license-issuing seal of a
// test SM2 key, certified by a test root, signs its digest as the
// issuing service does.
func signed(t testing.TB, l license.License) []byte {
	t.Helper()
	key := func() *keys.SoftwareKey {
		k, err := keys.GenerateSoftware(keys.SM2SM3, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	rootKey, maker, signer := key(), key(), key()
	root, err := ca.NewRoot(rootKey.CryptoSigner(), pkix.Name{CommonName: "printout test root"}, issued.Add(-time.Hour), issued.AddDate(5, 0, 0), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	authority, err := ca.New(root, rootKey.CryptoSigner(), func() time.Time { return issued }, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert := func(k *keys.SoftwareKey, p ca.Purpose) []byte {
		c, err := authority.Issue(ca.IssueRequest{PublicKey: k.Public(), Subject: pkix.Name{CommonName: p.String()}, Purpose: p,
			NotBefore: issued.Add(-time.Hour), NotAfter: issued.AddDate(2, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		return c.Raw
	}
	signerCert := cert(signer, ca.Seal)
	ctx := context.Background()
	seal, _, err := ses.MakeSeal(ctx, ses.SealInfo{Header: ses.Header{VendorID: "zhengzhao"}, ID: "35010211350102003603210T090013",
		Property: ses.PropertyInfo{Type: 1, Name: "证照专用章", CertListType: ses.CertListCerts, Certs: [][]byte{signerCert},
			Created: issued.Add(-time.Hour), ValidFrom: issued.Add(-time.Hour), ValidTo: issued.AddDate(2, 0, 0)},
		Picture: ses.Picture{Type: "PNG", Data: sealPNG(t), Width: 42, Height: 42}}, cert(maker, ca.Issuer), maker)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := license.Digest(l)
	if err != nil {
		t.Fatal(err)
	}
	_, sig, err := ses.Sign(ctx, seal, digest, issued, l.ID, signerCert, signer)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := license.Encode(license.Document{License: l, Signature: sig})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// sealPNG is a red ring with a star-less centre on a transparent ground,
// as a seal image is.
func sealPNG(t testing.TB) []byte {
	t.Helper()
	const n = 200
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	red := color.NRGBA{R: 210, G: 20, B: 20, A: 230}
	for y := range n {
		for x := range n {
			dx, dy := float64(x-n/2), float64(y-n/2)
			if d := dx*dx + dy*dy; d < 95*95 && d > 85*85 || d < 20*20 {
				img.Set(x, y, red)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// poppler says whether poppler-utils, the independent PDF reader of the
// tests, and a CJK font are here; missing, the test skips (fails under
// CI=true).
func poppler(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"pdftotext", "pdfdetach", "pdftoppm", "pdfimages"} {
		if _, err := exec.LookPath(tool); err != nil {
			testskip.Missing(t, "poppler-utils", tool+" not found; apt-get install poppler-utils (bash .ci/run installs it)")
		}
	}
	if _, _, err := FindFont(""); errors.Is(err, ErrNoFont) {
		testskip.Missing(t, "a CJK TrueType font", "apt-get install "+FontPackage+" (bash .ci/run installs it)")
	}
}

// writePDF writes the PDF into a temporary directory and returns its path.
func writePDF(t testing.TB, pdf []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "license.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runTool runs a poppler tool and returns its standard output.
func runTool(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("%s %v: %v: %s", name, args, err, ee.Stderr)
		}
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return out
}

// pdfText is the text poppler reads from the PDF.
func pdfText(t testing.TB, path string) string {
	t.Helper()
	return string(runTool(t, "pdftotext", "-enc", "UTF-8", path, "-"))
}

// attachment is the embedded file poppler extracts from the PDF.
func attachment(t testing.TB, path string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "attached")
	runTool(t, "pdfdetach", "-save", "1", "-o", out, path)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// qrOnPage rasterizes the page as a printer would and decodes the QR code
// from the picture.
func qrOnPage(t testing.TB, path string) string {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "page")
	runTool(t, "pdftoppm", "-r", "150", "-png", "-singlefile", path, prefix)
	f, err := os.Open(prefix + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		t.Fatalf("decode the QR code of the page: %v", err)
	}
	return res.GetText()
}
