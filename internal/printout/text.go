package printout

// Text is drawn in runs of one font each: the CJK font has the Chinese
// characters and the fullwidth punctuation, the Latin font the letters,
// digits and the rest. fpdf has no font fallback of its own, and the
// Debian CJK TrueType fonts lack Latin glyphs or draw them poorly.

const (
	cjkFamily   = "cjk"
	latinFamily = "latin"
)

// cjk reports whether r is drawn with the CJK font: everything from the
// CJK radicals (U+2E80) on — CJK punctuation, kana, the ideographs, the
// fullwidth forms.
func cjk(r rune) bool { return r >= 0x2E80 }

// run is text of one font.
type run struct {
	family, text string
}

// runs splits s into runs of one font each.
func runs(s string) []run {
	var out []run
	start, family := 0, ""
	for i, r := range s {
		f := latinFamily
		if cjk(r) {
			f = cjkFamily
		}
		if f != family && i > start {
			out = append(out, run{family, s[start:i]})
			start = i
		}
		family = f
	}
	if start < len(s) {
		out = append(out, run{family, s[start:]})
	}
	return out
}

// flow writes s from (x, y) in a column of width w, wrapping at its edge
// and at line feeds, and returns the y below the last line.
func (p *page) flow(x, y, w, h, size float64, s string) float64 {
	left, top, right, _ := p.GetMargins()
	p.SetLeftMargin(x)
	p.SetRightMargin(pageW - x - w)
	p.SetXY(x, y)
	for _, r := range runs(s) {
		p.SetFont(r.family, "", size)
		p.Write(h, r.text)
	}
	p.Ln(h)
	end := p.GetY()
	p.SetMargins(left, top, right)
	return end
}

// centered writes s as one line centred in the column from x of width w,
// or flows it when it is wider, and returns the y below it.
func (p *page) centered(x, y, w, h, size float64, s string) float64 {
	rs := runs(s)
	width := 0.0
	for _, r := range rs {
		p.SetFont(r.family, "", size)
		width += p.GetStringWidth(r.text)
	}
	if width > w {
		return p.flow(x, y, w, h, size, s)
	}
	p.SetXY(x+(w-width)/2, y)
	for _, r := range rs {
		p.SetFont(r.family, "", size)
		p.CellFormat(p.GetStringWidth(r.text), h, r.text, "", 0, "L", false, 0, "")
	}
	return y + h
}
