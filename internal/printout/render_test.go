package printout

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

const payload = "https://zz.example.gov.cn/v/BL000111350102003603210T00000000425?k=Zm9vYmFy"

// TestRenderBusinessLicense reads the printed copy back with poppler: the
// face's text, the attached original byte for byte, and the QR code as a
// scanner sees the printed page.
func TestRenderBusinessLicense(t *testing.T) {
	poppler(t)
	def := shipped(t, "BL0001")
	doc := signed(t, licenseOf(t, def))
	for _, tc := range []struct {
		lang string
		want []string
	}{
		{"", []string{"营业执照", "福州闽江示例科技有限公司", "91350100M000100Y43", "统一社会信用代码", "法定代表人", "林晓峰",
			"350102202600000042", "2026年11月23日 至 2046年11月22日", "发证机关：福州市鼓楼区市场监督管理局", "扫码核验", "BL000111350102003603210T00000000425"}},
		{"en", []string{"Business license", "福州闽江示例科技有限公司", "Legal representative", "2026-11-23 to 2046-11-22",
			"Issuer: 福州市鼓楼区市场监督管理局", "scan to verify"}},
	} {
		t.Run("lang="+tc.lang, func(t *testing.T) {
			pdf, err := Render(Input{Document: doc, Template: def.Template, TypeName: def.Type.Name, QR: payload, Lang: tc.lang,
				Seal: Seal{Image: sealPNG(t), WidthMM: 40, HeightMM: 40}, PrintedAt: issued})
			if err != nil {
				t.Fatal(err)
			}
			path := writePDF(t, pdf)
			text := pdfText(t, path)
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("the page does not read %q:\n%s", w, text)
				}
			}
			if list := string(runTool(t, "pdfdetach", "-list", path)); !strings.Contains(list, AttachmentName) {
				t.Errorf("pdfdetach -list does not name %s:\n%s", AttachmentName, list)
			}
			if got := attachment(t, path); !bytes.Equal(got, doc) {
				t.Errorf("the attached file differs from the signed document:\n%s", got)
			}
			// The seal is the one picture of the page, its transparency
			// kept as a soft mask, so the text under it shows through.
			if images := string(runTool(t, "pdfimages", "-list", path)); !strings.Contains(images, " image ") || !strings.Contains(images, " smask ") {
				t.Errorf("the seal is not on the page with its transparency:\n%s", images)
			}
			if got := qrOnPage(t, path); got != payload {
				t.Errorf("QR %q, want %q", got, payload)
			}
		})
	}
}

// TestRenderMasked: a masked copy hides the personal fields under their
// template rules, the holder line included; an unmasked one prints them.
func TestRenderMasked(t *testing.T) {
	poppler(t)
	def := shipped(t, "PC0001")
	doc := signed(t, licenseOf(t, def))
	for _, tc := range []struct {
		masked      bool
		want, never []string
	}{
		{false, []string{"王建国", "11010519491231002X", "1949-12-31", "男", "签发机关", "福州市公安局台江分局"}, nil},
		{true, []string{"王**", "110***********002X", "1949******", "福州市公安局台江分局"},
			[]string{"王建国", "11010519491231002", "1949-12-31", "江滨中大道"}},
	} {
		pdf, err := Render(Input{Document: doc, Template: def.Template, TypeName: def.Type.Name, QR: payload, Masked: tc.masked})
		if err != nil {
			t.Fatal(err)
		}
		path := writePDF(t, pdf)
		text := pdfText(t, path)
		// The attached original is in clear: a masked copy goes without.
		if list := string(runTool(t, "pdfdetach", "-list", path)); strings.Contains(list, AttachmentName) == tc.masked {
			t.Errorf("masked=%v: pdfdetach -list:\n%s", tc.masked, list)
		}
		for _, w := range tc.want {
			if !strings.Contains(text, w) {
				t.Errorf("masked=%v: the page does not read %q:\n%s", tc.masked, w, text)
			}
		}
		for _, n := range tc.never {
			if strings.Contains(text, n) {
				t.Errorf("masked=%v: the page shows %q:\n%s", tc.masked, n, text)
			}
		}
	}
}

// TestRenderSVGSeal: an SVG seal is not rasterized; its name in a ring
// stands in for it.
func TestRenderSVGSeal(t *testing.T) {
	poppler(t)
	def := shipped(t, "BL0001")
	pdf, err := Render(Input{Document: signed(t, licenseOf(t, def)), Template: def.Template, TypeName: def.Type.Name, QR: payload,
		Seal: Seal{Image: []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="42mm" height="42mm"/>`), Name: "福州市鼓楼区市场监督管理局证照专用章"}})
	if err != nil {
		t.Fatal(err)
	}
	if text := pdfText(t, writePDF(t, pdf)); !strings.Contains(strings.Join(strings.Fields(text), ""), "证照专用章") {
		t.Errorf("the seal's name is not on the page:\n%s", text)
	}
}

// TestRenderIsReproducible: the same input, the same bytes.
func TestRenderIsReproducible(t *testing.T) {
	poppler(t)
	def := shipped(t, "BL0001")
	in := Input{Document: signed(t, licenseOf(t, def)), Template: def.Template, TypeName: def.Type.Name, QR: payload,
		Seal: Seal{Image: sealPNG(t)}, PrintedAt: issued}
	a, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two renderings of the same input differ")
	}
}

func TestRenderRefuses(t *testing.T) {
	def := shipped(t, "BL0001")
	doc := signed(t, licenseOf(t, def))
	good := Input{Document: doc, Template: def.Template, TypeName: def.Type.Name, QR: payload}
	for name, change := range map[string]func(*Input){
		"not a document": func(in *Input) { in.Document = []byte(`{"license":{}}`) },
		"no QR payload":  func(in *Input) { in.QR = "" },
		"language":       func(in *Input) { in.Lang = "fr" },
	} {
		t.Run(name, func(t *testing.T) {
			in := good
			change(&in)
			if _, err := Render(in); !errors.Is(err, apperr.Invalid) {
				t.Fatalf("err %v, want %s", err, apperr.Invalid)
			}
		})
	}
}

// TestNoFont: without a usable font the error is typed and names the
// Debian package to install.
func TestNoFont(t *testing.T) {
	dir := t.TempDir()
	ttc := filepath.Join(dir, "wqy-microhei.ttc")
	otf := filepath.Join(dir, "NotoSansCJK.otf")
	for path, data := range map[string]string{ttc: "ttcf\x00\x01\x00\x00\x00\x00\x00\x01", otf: "OTTO\x00\x0b\x00\x80\x00\x03\x00\x30"} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	def := shipped(t, "BL0001")
	doc := signed(t, licenseOf(t, def))
	for _, tc := range []struct {
		name, configured string
		known            []string
		why              string
	}{
		{"nothing installed", "", []string{filepath.Join(dir, "absent.ttf")}, "no such file"},
		{"configured missing", filepath.Join(dir, "absent.ttf"), nil, "no such file"},
		{"collection", ttc, nil, "font collection"},
		{"CFF", otf, nil, "CFF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := findFont(tc.configured, tc.known, FontPackage)
			var fe *FontError
			if !errors.As(err, &fe) || !errors.Is(err, ErrNoFont) {
				t.Fatalf("err %v, want a *FontError", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "apt-get install "+FontPackage) || !strings.Contains(msg, tc.why) {
				t.Errorf("the message does not say %q and how to install the font: %s", tc.why, msg)
			}
			if tc.configured == "" {
				return
			}
			_, err = Render(Input{Document: doc, Template: def.Template, TypeName: def.Type.Name, QR: payload, FontPath: tc.configured})
			if !errors.As(err, &fe) || fe.Configured != tc.configured {
				t.Fatalf("Render: err %v, want a *FontError of the configured path", err)
			}
		})
	}
}

// BenchmarkRender measures one printed copy: reading and subsetting the
// fonts dominates.
func BenchmarkRender(b *testing.B) {
	if _, _, err := FindFont(""); err != nil {
		b.Skip(err)
	}
	def := shipped(b, "BL0001")
	in := Input{Document: signed(b, licenseOf(b, def)), Template: def.Template, TypeName: def.Type.Name, QR: payload,
		Seal: Seal{Image: sealPNG(b)}, PrintedAt: issued}
	var size int
	for b.Loop() {
		pdf, err := Render(in)
		if err != nil {
			b.Fatal(err)
		}
		size = len(pdf)
	}
	b.ReportMetric(float64(size), "pdf-bytes")
}
