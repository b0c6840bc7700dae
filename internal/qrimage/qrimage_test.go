package qrimage

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image"
	"image/png"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

// payloads are ZZ1-like texts of the sizes the platform makes: a short
// one, the worked example's length, and the ten-field business license.
func payloads() []string {
	alnum := "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	long := func(n int) string {
		var b strings.Builder
		b.WriteString("ZZ1:")
		for i := range n {
			b.WriteByte(alnum[(i*7+i/45)%len(alnum)])
		}
		return b.String()
	}
	return []string{"ZZ1:NCF%RN6D2W.M2MQ4HGXGGIY4YNLS9NQ65Y", long(552), long(1122)}
}

// decode reads the QR code of a picture with gozxing, a decoder
// independent of the encoder.
func decode(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got := res.GetResultMetadata()[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL]; got != "M" {
		t.Errorf("error correction level %v, want M", got)
	}
	return res.GetText()
}

func TestPNGDecodesToThePayload(t *testing.T) {
	for _, p := range payloads() {
		for _, scale := range []int{0, 1, 3} {
			b, err := PNG(p, scale)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			bits, err := Modules(p)
			if err != nil {
				t.Fatal(err)
			}
			s := max(scale, 1)
			if scale == 0 {
				s = DefaultScale
			}
			if w := img.Bounds().Dx(); w != (len(bits)+2*QuietZone)*s {
				t.Errorf("%d chars at scale %d: %d pixels wide, want %d", len(p), scale, w, (len(bits)+2*QuietZone)*s)
			}
			// The quiet zone is light: the top-left pixel and the whole
			// first rows.
			g := img.(*image.Gray)
			for i := range QuietZone * s * g.Stride {
				if g.Pix[i] != 0xff {
					t.Fatalf("%d chars at scale %d: a dark pixel in the quiet zone at %d", len(p), scale, i)
				}
			}
			if got := decode(t, img); got != p {
				t.Errorf("%d chars at scale %d: decoded %q", len(p), scale, got)
			}
		}
	}
}

// pathRun is one command of the SVG's path: a run of dark modules.
var pathRun = regexp.MustCompile(`^M(\d+) (\d+)h(\d+)v1h-(\d+)z`)

// svgModules parses an SVG of SVG's shape back to its modules, quiet zone
// included, failing on anything else.
func svgModules(t *testing.T, doc []byte) [][]bool {
	t.Helper()
	var svg struct {
		XMLName xml.Name
		ViewBox string `xml:"viewBox,attr"`
		Rect    []struct {
			Fill string `xml:"fill,attr"`
		} `xml:"rect"`
		Path []struct {
			D    string `xml:"d,attr"`
			Fill string `xml:"fill,attr"`
		} `xml:"path"`
		Script []struct{} `xml:"script"`
	}
	if err := xml.Unmarshal(doc, &svg); err != nil {
		t.Fatal(err)
	}
	if svg.XMLName.Local != "svg" || svg.XMLName.Space != "http://www.w3.org/2000/svg" || len(svg.Path) != 1 || len(svg.Rect) != 1 ||
		len(svg.Script) != 0 || svg.Rect[0].Fill != "#fff" || svg.Path[0].Fill != "#000" {
		t.Fatalf("not one white square and one black path: %s", doc)
	}
	f := strings.Fields(svg.ViewBox)
	if len(f) != 4 || f[0] != "0" || f[1] != "0" || f[2] != f[3] {
		t.Fatalf("viewBox %q", svg.ViewBox)
	}
	n, _ := strconv.Atoi(f[2])
	out := make([][]bool, n)
	for i := range out {
		out[i] = make([]bool, n)
	}
	d := svg.Path[0].D
	for d != "" {
		m := pathRun.FindStringSubmatch(d)
		if m == nil {
			t.Fatalf("path: cannot read %.40q", d)
		}
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		w, _ := strconv.Atoi(m[3])
		if m[4] != m[3] || y >= n || x+w > n {
			t.Fatalf("path: %q is not a run inside the square", m[0])
		}
		for i := range w {
			out[y][x+i] = true
		}
		d = d[len(m[0]):]
	}
	return out
}

func TestSVGIsThePayloadsModules(t *testing.T) {
	for _, p := range payloads() {
		doc, err := SVG(p)
		if err != nil {
			t.Fatal(err)
		}
		got := svgModules(t, doc)
		bits, err := Modules(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(bits)+2*QuietZone {
			t.Fatalf("%d modules a side, want %d", len(got), len(bits)+2*QuietZone)
		}
		// Rasterize the parsed modules, two pixels each, and decode.
		const s = 2
		img := image.NewGray(image.Rect(0, 0, len(got)*s, len(got)*s))
		for y := range len(got) * s {
			for x := range len(got) * s {
				if dark := got[y/s][x/s]; !dark {
					img.Pix[y*img.Stride+x] = 0xff
				}
				r, c := y/s-QuietZone, x/s-QuietZone
				inside := r >= 0 && c >= 0 && r < len(bits) && c < len(bits)
				if got[y/s][x/s] != (inside && bits[r][c]) {
					t.Fatalf("%d chars: module (%d,%d) differs from the symbol", len(p), r, c)
				}
			}
		}
		if txt := decode(t, img); txt != p {
			t.Errorf("%d chars: decoded %q", len(p), txt)
		}
	}
}

// TestVersions: the encoder picks the versions docs/qr-format.md lists
// for the business license's payloads (ISO/IEC 18004 at level M, which
// qr's TestPayloadSize computes): 556 characters version 15, 1,126
// version 22.
func TestVersions(t *testing.T) {
	for _, p := range payloads()[1:] {
		bits, err := Modules(p)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int]int{556: 15, 1126: 22}[len(p)]
		if got := (len(bits) - 17) / 4; got != want {
			t.Errorf("%d characters: version %d, want %d", len(p), got, want)
		}
	}
}

func TestRefusedInput(t *testing.T) {
	// 3,392 alphanumeric characters: one more than version 40-M holds.
	tooLong := "ZZ1:" + strings.Repeat("A", 3388)
	for name, f := range map[string]func() error{
		"png too long": func() error { _, err := PNG(tooLong, 1); return err },
		"svg too long": func() error { _, err := SVG(tooLong); return err },
		"scale 33":     func() error { _, err := PNG("ZZ1:A", MaxScale+1); return err },
		"scale -1":     func() error { _, err := PNG("ZZ1:A", -1); return err },
	} {
		var ae *apperr.Error
		if err := f(); !errors.As(err, &ae) || ae.Kind != apperr.Invalid {
			t.Errorf("%s: %v, want an invalid-input error", name, err)
		}
	}
	if _, err := SVG(tooLong[:len(tooLong)-1]); err != nil {
		t.Errorf("3,391 characters fit version 40-M: %v", err)
	}
}
