package printout

import (
	"github.com/go-pdf/fpdf"

	"github.com/zhengzhao/zhengzhao/internal/qrimage"
)

// drawQR draws the modules as black squares in a size x size square at
// (x, y), within it the quiet zone of four modules the standard asks for.
// Vector squares print sharp at any resolution; runs of dark modules in a
// row are one rectangle, which keeps the page small.
func drawQR(p *fpdf.Fpdf, bits [][]bool, x, y, size float64) {
	const quiet = qrimage.QuietZone
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
