package printout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/qrimage"
)

// AttachmentName is the file name of the signed document inside the PDF.
const AttachmentName = "license.json"

// Languages of the face.
const (
	LangZH = "zh-CN" // the default
	LangEN = "en"
)

// Input is what a printed copy shows. The caller decides what may be
// printed: Masked, and the QR payload.
type Input struct {
	// Document is the signed license document (internal/codec/license);
	// the face is read from it and it is attached unchanged.
	Document []byte
	// Template is the template version the license was issued under:
	// the field order, the labels and the masking rules.
	Template catalog.Template
	// TypeName is the license type's name, the title of the page.
	TypeName catalog.Label
	// Masked masks every face field under its template's masking rule, and
	// the holder's name and identifier likewise (see Render). A masked
	// copy does not carry the signed document: it would give away what
	// the mask hides.
	Masked bool
	// Seal is the issuer's seal, printed over the issuer line.
	Seal Seal
	// QR is the payload of the QR code, which verifies the printed copy.
	QR string
	// Lang is LangZH (default when "") or LangEN.
	Lang string
	// FontPath is a configured CJK TrueType font; "" searches KnownFonts.
	FontPath string
	// LatinFontPath is a configured TrueType font for the letters and
	// digits; "" searches KnownLatinFonts.
	LatinFontPath string
	// PrintedAt dates the PDF file; the zero time means now.
	PrintedAt time.Time
}

// Seal is the seal image printed over the issuer line.
type Seal struct {
	// Image is the seal's image: a PNG is printed as it is, transparency
	// kept; any other image (SVG) is not rasterized: a red ring with Name
	// stands in for it. Empty: no seal is printed.
	Image []byte
	// WidthMM and HeightMM are the printed size; 0 means 42 mm, the
	// common diameter of an official seal.
	WidthMM, HeightMM int
	// Name is the seal's name, printed in the ring that stands in for an
	// image that is not a PNG.
	Name string
}

// Layout of the A4 page, in millimetres.
const (
	pageW, pageH   = 210.0, 297.0
	margin         = 20.0
	labelW         = 48.0
	lineH          = 6.5
	qrSize         = 36.0
	bottomBlockTop = pageH - margin - 68 // the QR, the issuer and the seal
	defaultSealMM  = 42
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// Render returns the printable copy of in.Document as a PDF. The document
// must decode (its signature is not checked); the QR payload is required.
// With Masked, each face field is masked under its template rule, the
// holder's identifier under the rule of the template's holder field, and
// the holder's name under the rule of the face field that carries it — a
// person's name with no such field is masked fully — and the signed
// document is not attached. A missing font is a *FontError.
func Render(in Input) ([]byte, error) {
	doc, err := license.Decode(in.Document)
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "the document to print is not a license document")
	}
	if in.QR == "" {
		return nil, apperr.New(apperr.Invalid, "the QR payload of the printed copy is required")
	}
	text, err := wording(in.Lang)
	if err != nil {
		return nil, err
	}
	face, err := faceValues(doc.License.Face)
	if err != nil {
		return nil, err
	}
	qr, err := qrimage.Modules(in.QR)
	if err != nil {
		return nil, err
	}
	_, font, err := FindFont(in.FontPath)
	if err != nil {
		return nil, err
	}
	_, latin, err := FindLatinFont(in.LatinFontPath)
	if err != nil {
		return nil, err
	}
	p := page{Fpdf: fpdf.New("P", "mm", "A4", ""), text: text, in: in, l: doc.License}
	p.setup(font, latin, in.Document)
	p.header()
	p.rows(p.headRows())
	p.rows(p.faceRows(face))
	p.bottom(qr)
	if err := p.Error(); err != nil {
		return nil, fmt.Errorf("printout: render the PDF: %w", err)
	}
	var out bytes.Buffer
	if err := p.Output(&out); err != nil {
		return nil, fmt.Errorf("printout: write the PDF: %w", err)
	}
	return out.Bytes(), nil
}

// page is the PDF being drawn.
type page struct {
	*fpdf.Fpdf
	text text
	in   Input
	l    license.License
}

func (p *page) setup(font, latin, document []byte) {
	at := p.in.PrintedAt
	if at.IsZero() {
		at = time.Now()
	}
	p.SetCreationDate(at)
	p.SetModificationDate(at)
	p.SetCatalogSort(true) // the same input gives the same bytes
	p.SetTitle(pick(p.in.TypeName, p.text.lang)+" "+p.l.Number, true)
	p.SetCreator("zhengzhao", true)
	p.SetMargins(margin, margin, margin)
	p.SetAutoPageBreak(true, margin)
	p.SetCellMargin(0) // runs of two fonts follow each other exactly
	p.AddUTF8FontFromBytes(cjkFamily, "", font)
	p.AddUTF8FontFromBytes(latinFamily, "", latin)
	// The verifiable original travels inside the paper's PDF: whoever
	// holds the file can check the seal's signature over it, and the QR
	// checks its status. Not in a masked copy: the original is in clear.
	if !p.in.Masked {
		p.SetAttachments([]fpdf.Attachment{{Content: document, Filename: AttachmentName, Description: p.text.attachment}})
	}
	p.AddPage()
}

func (p *page) header() {
	y := p.centered(margin, margin, pageW-2*margin, 14, 24, pick(p.in.TypeName, p.text.lang))
	p.SetTextColor(90, 90, 90)
	y = p.centered(margin, y, pageW-2*margin, 6, 10, p.text.copyNote)
	p.SetTextColor(0, 0, 0)
	y += 4
	p.SetDrawColor(160, 160, 160)
	p.Line(margin, y, pageW-margin, y)
	p.SetY(y + 3)
}

// row is one label and value of the face.
type row struct{ label, value string }

func (p *page) headRows() []row {
	name, id := p.l.Holder.Name, p.l.Holder.Identifier
	if p.in.Masked {
		name, id = p.maskedHolder()
	}
	return []row{
		{p.text.number, p.l.Number},
		{p.text.holder, name},
		{p.text.holderID, id},
		{p.text.validity, p.validity()},
	}
}

// maskedHolder masks the holder's name and identifier with the rules of
// the template fields that carry them.
func (p *page) maskedHolder() (name, id string) {
	name, id = p.l.Holder.Name, p.l.Holder.Identifier
	var face map[string]any
	_ = json.Unmarshal(p.l.Face, &face) // decoded before: a valid object
	nameMasked := false
	for _, f := range p.in.Template.Fields {
		if f.Holder {
			id = catalog.Mask(f, id)
		}
		if s, ok := face[f.Key].(string); ok && s == p.l.Holder.Name && !nameMasked {
			name, nameMasked = catalog.Mask(f, name), true
		}
	}
	if !nameMasked && p.l.Holder.Kind == license.HolderPerson {
		name = catalog.Mask(catalog.Field{Masking: catalog.Masking{Rule: catalog.MaskFull}}, name)
	}
	return name, id
}

func (p *page) faceRows(face catalog.Face) []row {
	if p.in.Masked {
		face = p.in.Template.MaskFace(face)
	}
	var out []row
	for _, f := range p.in.Template.Fields {
		v, ok := face[f.Key]
		if !ok {
			continue
		}
		out = append(out, row{pick(f.Label, p.text.lang), p.value(f, v)})
	}
	return out
}

// value writes a face value as printed.
func (p *page) value(f catalog.Field, v any) string {
	switch v := v.(type) {
	case bool:
		if v {
			return p.text.yes
		}
		return p.text.no
	case string:
		if f.Type == catalog.TypeImage && strings.HasPrefix(v, catalog.ImageRefPrefix) {
			// The image is stored apart; the reference names it.
			return fmt.Sprintf(p.text.imageRef, v[:len(catalog.ImageRefPrefix)+12])
		}
		return v
	default:
		return fmt.Sprint(v)
	}
}

func (p *page) rows(rows []row) {
	const size = 11
	valueW := pageW - 2*margin - labelW
	for _, r := range rows {
		y := p.GetY()
		if y+lineH > pageH-margin {
			p.AddPage()
			y = p.GetY()
		}
		p.SetTextColor(70, 70, 70)
		labelEnd := p.flow(margin, y, labelW-3, lineH, size, r.label)
		p.SetTextColor(0, 0, 0)
		end := p.flow(margin+labelW, y, valueW, lineH, size, r.value)
		p.SetY(max(end, labelEnd) + 1)
	}
}

// bottom draws the QR with its caption, the issuer line with the seal over
// it, and the license identifier, on a new page if the face left no room.
func (p *page) bottom(qr [][]bool) {
	p.SetAutoPageBreak(false, 0) // the block is placed, not flowed
	if p.GetY() > bottomBlockTop {
		p.AddPage()
	}
	top := bottomBlockTop
	drawQR(p.Fpdf, qr, margin, top, qrSize)
	p.centered(margin-10, top+qrSize+1, qrSize+20, 5, 9, "扫码核验 / scan to verify")

	const issuerX, issuerW = pageW/2 - 5, pageW/2 - margin + 5
	y := p.centered(issuerX, top+22, issuerW, 7, 12, p.text.issuer+p.l.Issuer.Name)
	p.centered(issuerX, y, issuerW, 7, 12, p.text.issuedOn+p.date(p.l.IssuedAt))
	p.seal(issuerX+issuerW/2, top+25)

	p.SetTextColor(90, 90, 90)
	y = p.flow(margin, pageH-margin-8, pageW-2*margin, 4, 8, p.text.identifier+p.l.ID)
	if !p.in.Masked {
		p.flow(margin, y, pageW-2*margin, 4, 8, p.text.attached)
	}
	p.SetTextColor(0, 0, 0)
}

// seal prints the seal centred on (cx, cy): drawn after the issuer line,
// so that it lies over it as a stamp does.
func (p *page) seal(cx, cy float64) {
	s := p.in.Seal
	if len(s.Image) == 0 {
		return
	}
	w, h := float64(cmp0(s.WidthMM, defaultSealMM)), float64(cmp0(s.HeightMM, defaultSealMM))
	if bytes.HasPrefix(s.Image, pngMagic) {
		p.RegisterImageOptionsReader("seal", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(s.Image))
		p.ImageOptions("seal", cx-w/2, cy-h/2, w, h, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
		return
	}
	// An SVG seal is not rasterized (no maintained Go SVG rasterizer is
	// among the dependencies): a red ring with the seal's name marks where
	// the seal is, and the attached document carries the seal itself.
	p.SetDrawColor(200, 30, 30)
	p.SetLineWidth(1.2)
	p.Ellipse(cx, cy, w/2-1, h/2-1, 0, "D")
	p.SetLineWidth(0.2)
	p.SetTextColor(200, 30, 30)
	p.flow(cx-w/2+6, cy+h/2-15, w-12, 3.5, 7, s.Name)
	p.SetTextColor(0, 0, 0)
	p.SetDrawColor(0, 0, 0)
}

func cmp0(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// China time: dates on the face are the issuer's calendar days.
var chinaTime = time.FixedZone("CST", 8*3600)

func (p *page) date(t time.Time) string {
	t = t.In(chinaTime)
	if p.text.lang == LangEN {
		return t.Format("2006-01-02")
	}
	return t.Format("2006年1月2日")
}

// validity prints the validity window as calendar days: valid_until is
// the first instant no longer valid, so the last day printed is the one
// before it.
func (p *page) validity() string {
	from := p.date(p.l.ValidFrom)
	if p.l.ValidUntil == nil {
		return fmt.Sprintf(p.text.openEnded, from)
	}
	return fmt.Sprintf(p.text.window, from, p.date(p.l.ValidUntil.Add(-time.Second)))
}

// faceValues decodes the signed face: numbers stay as written.
func faceValues(raw json.RawMessage) (catalog.Face, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var face map[string]any
	if err := dec.Decode(&face); err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "the license face is not a JSON object")
	}
	out := make(catalog.Face, len(face))
	for k, v := range face {
		if v != nil {
			out[k] = v
		}
	}
	return out, nil
}

func pick(l catalog.Label, lang string) string {
	if lang == LangEN && l.EN != "" {
		return l.EN
	}
	return l.ZH
}

// text is the fixed wording of the page in one language.
type text struct {
	lang                                   string
	copyNote, number, holder, holderID     string
	validity, window, openEnded            string
	issuer, issuedOn, identifier, attached string
	attachment, yes, no, imageRef          string
}

func wording(lang string) (text, error) {
	switch lang {
	case "", LangZH:
		return text{lang: LangZH, copyNote: "电子证照打印件", number: "证照编号", holder: "持证主体", holderID: "持证主体代码",
			validity: "有效期", window: "%s 至 %s", openEnded: "%s 起长期有效",
			issuer: "发证机关：", issuedOn: "发证日期：", identifier: "证照标识：", attached: "本文件附有签章的电子证照原件 " + AttachmentName,
			attachment: "签章的电子证照原件（zhengzhao-license/v1）", yes: "是", no: "否", imageRef: "（图像 %s…）"}, nil
	case LangEN:
		return text{lang: LangEN, copyNote: "Printed copy of an electronic license", number: "License number", holder: "Holder",
			holderID: "Holder identifier", validity: "Validity", window: "%s to %s", openEnded: "from %s, no end",
			issuer: "Issuer: ", issuedOn: "Issued on: ", identifier: "License ID: ", attached: "The signed license document is attached as " + AttachmentName,
			attachment: "The signed electronic license (zhengzhao-license/v1)", yes: "yes", no: "no", imageRef: "(image %s…)"}, nil
	default:
		return text{}, apperr.New(apperr.Invalid, "language %q: the printed copy is in %s or %s", lang, LangZH, LangEN)
	}
}
