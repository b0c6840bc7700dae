// Package qrimage draws a QR payload as a picture: the modules of the
// symbol (for a renderer that draws them itself, as the printed copy
// does), a PNG for a screen, and an SVG of one path. Every form encodes at
// error correction level M and keeps the quiet zone of four modules
// ISO/IEC 18004 asks for around the symbol, so what it draws scans as it
// is. See docs/qr-format.md, "Pictures".
//
// The symbol is encoded with github.com/yeqown/go-qrcode/v2, which picks
// the alphanumeric mode for a ZZ1 payload (Base45 is inside the QR
// alphanumeric set) and the smallest version that holds it.
package qrimage

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"strconv"

	qrcode "github.com/yeqown/go-qrcode/v2"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

// QuietZone is the light border around the symbol, in modules.
const QuietZone = 4

// Bounds of a PNG's scale, in pixels a module: below 1 nothing is drawn;
// above 32 a version 40 symbol would be some 6,000 pixels wide, more than
// any screen shows.
const (
	DefaultScale = 4
	MaxScale     = 32
)

// Modules encodes payload as a QR symbol at error correction level M and
// returns its modules, [row][column], true dark, without the quiet zone.
// Level M (15 %) survives a crease or a stain on paper and a glare on a
// screen while keeping the modules large enough for a phone camera; it
// holds up to 3,391 alphanumeric characters (version 40). A payload that
// does not fit is an apperr.Invalid error.
func Modules(payload string) ([][]bool, error) {
	q, err := qrcode.NewWith(payload, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "the QR payload cannot be encoded: %v", err)
	}
	var m matrix
	if err := q.Save(&m); err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "the QR payload cannot be encoded: %v", err)
	}
	return m.bits, nil
}

// matrix is a qrcode.Writer that keeps the modules.
type matrix struct{ bits [][]bool }

func (m *matrix) Write(mat qrcode.Matrix) error { m.bits = mat.Bitmap(); return nil }
func (m *matrix) Close() error                  { return nil }

// PNG draws payload as a grayscale PNG, scale pixels a module (1 to
// MaxScale; 0 is DefaultScale), the quiet zone included.
func PNG(payload string, scale int) ([]byte, error) {
	if scale == 0 {
		scale = DefaultScale
	}
	if scale < 1 || scale > MaxScale {
		return nil, &apperr.Error{Kind: apperr.Invalid, Detail: fmt.Sprintf("the scale is 1 to %d pixels a module", MaxScale),
			Fields: []apperr.FieldError{{Field: "scale", Rule: "range"}}}
	}
	bits, err := Modules(payload)
	if err != nil {
		return nil, err
	}
	size := (len(bits) + 2*QuietZone) * scale
	img := image.NewGray(image.Rect(0, 0, size, size))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for r, row := range bits {
		for c, dark := range row {
			if !dark {
				continue
			}
			// The module's pixels, row by row: Pix is the whole picture
			// in rows of Stride bytes.
			for y := range scale {
				off := ((QuietZone+r)*scale+y)*img.Stride + (QuietZone+c)*scale
				clear(img.Pix[off : off+scale])
			}
		}
	}
	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&out, img); err != nil {
		return nil, fmt.Errorf("QR code: %w", err)
	}
	return out.Bytes(), nil
}

// SVG draws payload as an SVG document: a white square of the symbol and
// its quiet zone, one unit a module, and one black path of every run of
// dark modules in a row ("M x y h w v1 h -w z"). It holds no script, no
// style sheet and no reference outside itself, and scales to any size
// without blurring (shape-rendering crispEdges keeps the module edges
// sharp at small sizes).
func SVG(payload string) ([]byte, error) {
	bits, err := Modules(payload)
	if err != nil {
		return nil, err
	}
	n := strconv.Itoa(len(bits) + 2*QuietZone)
	var b bytes.Buffer
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + n + ` ` + n + `" width="` + n + `" height="` + n +
		`" shape-rendering="crispEdges"><rect width="` + n + `" height="` + n + `" fill="#fff"/><path fill="#000" d="`)
	for r, row := range bits {
		for c := 0; c < len(row); {
			if !row[c] {
				c++
				continue
			}
			start := c
			for c < len(row) && row[c] {
				c++
			}
			w := strconv.Itoa(c - start)
			b.WriteString("M" + strconv.Itoa(QuietZone+start) + " " + strconv.Itoa(QuietZone+r) + "h" + w + "v1h-" + w + "z")
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes(), nil
}
