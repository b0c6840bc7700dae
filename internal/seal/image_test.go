package seal

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

// sealPNG draws a ring of colour c on a transparent (or, with bg, filled)
// square.
func sealPNG(t testing.TB, size int, c color.NRGBA, bg *color.NRGBA) []byte {
	m := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			dx, dy := x-size/2, y-size/2
			d := dx*dx + dy*dy
			r := size / 2
			switch {
			case d <= r*r && d >= (r-6)*(r-6):
				m.SetNRGBA(x, y, c)
			case bg != nil:
				m.SetNRGBA(x, y, *bg)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const goodSVG = `<svg xmlns="http://www.w3.org/2000/svg" width="42mm" height="42mm" viewBox="0 0 100 100">
<circle cx="50" cy="50" r="46" fill="none" stroke="#d40000" stroke-width="4"/>
<text x="50" y="55" text-anchor="middle" fill="rgb(212,0,0)">★</text></svg>`

func rules(err error) map[string]string {
	out := map[string]string{}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		for _, f := range ae.Fields {
			out[f.Field] = f.Rule
		}
	}
	return out
}

func TestCheckImage(t *testing.T) {
	red := color.NRGBA{R: 212, A: 255}
	white := color.NRGBA{R: 255, G: 255, B: 255, A: 255}
	blue := color.NRGBA{B: 200, A: 255}
	good := sealPNG(t, 200, red, nil)
	img, err := CheckImage(good, 42, 42)
	if err != nil || img.Format != PNG || len(img.Hash) != 64 {
		t.Fatalf("good PNG: %+v, %v", img.Format, err)
	}
	if img, err := CheckImage([]byte(goodSVG), 40, 40); err != nil || img.Format != SVG {
		t.Fatalf("good SVG: %v", err)
	}
	cases := []struct {
		name  string
		data  []byte
		w, h  int
		field string
		rule  string
	}{
		{"empty", nil, 42, 42, "image", "required"},
		{"jpeg", []byte("\xff\xd8\xff\xe0 not a seal"), 42, 42, "image", "format"},
		{"too large", append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, MaxImageBytes)...), 42, 42, "image", "max-size"},
		{"truncated png", good[:len(good)/2], 42, 42, "image", "format"},
		{"no transparency", sealPNG(t, 200, red, &white), 42, 42, "image", "transparency"},
		{"blue", sealPNG(t, 200, blue, nil), 42, 42, "image", "colour"},
		{"tiny", sealPNG(t, 32, red, nil), 42, 42, "image", "dimensions"},
		{"width", good, 5, 42, "width_mm", "range"},
		{"height", good, 42, 500, "height_mm", "range"},
		{"script", []byte(strings.Replace(goodSVG, "<text", "<script>alert(1)</script><text", 1)), 42, 42, "image", "unsafe-svg"},
		{"onload", []byte(strings.Replace(goodSVG, "<svg ", `<svg onload="x()" `, 1)), 42, 42, "image", "unsafe-svg"},
		{"external", []byte(strings.Replace(goodSVG, "<text", `<image href="http://evil/x.png"/><text`, 1)), 42, 42, "image", "unsafe-svg"},
		{"black svg", []byte(strings.NewReplacer("#d40000", "#000000", "rgb(212,0,0)", "black").Replace(goodSVG)), 42, 42, "image", "colour"},
		{"broken svg", []byte(`<svg><circle></svg>`), 42, 42, "image", "format"},
	}
	for _, c := range cases {
		_, err := CheckImage(c.data, c.w, c.h)
		if got := rules(err)[c.field]; got != c.rule {
			t.Errorf("%s: %s rule %q (%v), want %q", c.name, c.field, got, err, c.rule)
		}
	}
}

func FuzzCheckImage(f *testing.F) {
	f.Add([]byte(goodSVG))
	f.Add(sealPNG(f, 64, color.NRGBA{R: 212, A: 255}, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		// It must not panic, and whatever it rejects is the caller's input.
		if _, err := CheckImage(data, 40, 40); err != nil && !errors.Is(err, apperr.Invalid) {
			t.Fatalf("CheckImage: %v, want an invalid-input error", err)
		}
	})
}
