package printout

import (
	"github.com/go-pdf/fpdf"
	qrcode "github.com/yeqown/go-qrcode/v2"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

// qrModules encodes the payload as QR modules, [row][column], true dark.
// Level M (15 %) survives a crease or a stain on paper while keeping the
// modules large enough for a phone camera.
func qrModules(payload string) ([][]bool, error) {
	q, err := qrcode.NewWith(payload, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "the QR payload cannot be encoded")
	}
	var m matrix
	if err := q.Save(&m); err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "the QR payload cannot be encoded")
	}
	return m.bits, nil
}

// matrix is a qrcode.Writer that keeps the modules.
type matrix struct{ bits [][]bool }

func (m *matrix) Write(mat qrcode.Matrix) error { m.bits = mat.Bitmap(); return nil }
func (m *matrix) Close() error                  { return nil }

// drawQR draws the modules as black squares in a size x size square at
// (x, y), within it the quiet zone of four modules the standard asks for.
// Vector squares print sharp at any resolution; runs of dark modules in a
// row are one rectangle, which keeps the page small.
func drawQR(p *fpdf.Fpdf, bits [][]bool, x, y, size float64) {
	const quiet = 4
	n := len(bits)
	if n == 0 {
		return
	}
	mod := size / float64(n+2*quiet)
	p.SetFillColor(0, 0, 0)
	for r, line := range bits {
		for c := 0; c < len(line); {
			if !line[c] {
				c++
				continue
			}
			start := c
			for c < len(line) && line[c] {
				c++
			}
			p.Rect(x+float64(quiet+start)*mod, y+float64(quiet+r)*mod, float64(c-start)*mod, mod, "F")
		}
	}
}
