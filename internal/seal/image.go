package seal

import (
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/emmansun/gmsm/sm3"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

// Image limits. A seal image matches the physical imprint (R-SEAL-2): a
// red mark on a transparent background, a few centimetres across.
const (
	MaxImageBytes = 512 << 10
	MinImageMM    = 10
	MaxImageMM    = 100
	minPixels     = 64
	maxPixels     = 4096
)

// ImageFormat is the encoding of a seal image; GB/T 38540 names it in
// SES_ESPictrueInfo.type.
type ImageFormat string

// The accepted formats.
const (
	PNG ImageFormat = "PNG"
	SVG ImageFormat = "SVG"
)

// Image is a checked seal image.
type Image struct {
	Format   ImageFormat
	Data     []byte
	WidthMM  int
	HeightMM int
	Hash     string // SM3 of Data, hex
}

// CheckImage validates a seal image and its printed size in millimetres:
// PNG with transparency or SVG without scripts, at most MaxImageBytes, and
// mostly red. Every problem is a field error on "image", "width_mm" or
// "height_mm".
func CheckImage(data []byte, widthMM, heightMM int) (Image, error) {
	var fs apperr.Fields
	for _, d := range []struct {
		field string
		v     int
	}{{"width_mm", widthMM}, {"height_mm", heightMM}} {
		if d.v < MinImageMM || d.v > MaxImageMM {
			fs.Add(d.field, "range", fmt.Sprintf("between %d and %d mm", MinImageMM, MaxImageMM))
		}
	}
	img := Image{Data: data, WidthMM: widthMM, HeightMM: heightMM}
	switch {
	case len(data) == 0:
		fs.Add("image", "required", "a seal image is required")
	case len(data) > MaxImageBytes:
		fs.Add("image", "max-size", fmt.Sprintf("the image is %d bytes; at most %d", len(data), MaxImageBytes))
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		img.Format = PNG
		if rule, detail := checkPNG(data); rule != "" {
			fs.Add("image", rule, detail)
		}
	case looksLikeSVG(data):
		img.Format = SVG
		if rule, detail := checkSVG(data); rule != "" {
			fs.Add("image", rule, detail)
		}
	default:
		fs.Add("image", "format", "the image is neither PNG nor SVG")
	}
	if err := fs.Err(); err != nil {
		return Image{}, err
	}
	h := sm3.Sum(data)
	img.Hash = hex.EncodeToString(h[:])
	return img, nil
}

func checkPNG(data []byte) (rule, detail string) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "format", "not a readable PNG: " + err.Error()
	}
	if cfg.Width < minPixels || cfg.Height < minPixels || cfg.Width > maxPixels || cfg.Height > maxPixels {
		return "dimensions", fmt.Sprintf("%d×%d pixels; each side must be %d to %d", cfg.Width, cfg.Height, minPixels, maxPixels)
	}
	m, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return "format", "not a readable PNG: " + err.Error()
	}
	var transparent, opaque, red int
	b := m.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := m.At(x, y).RGBA()
			switch {
			case a == 0:
				transparent++
			case a > 0x8000:
				opaque++
				if isRed(r>>8, g>>8, bl>>8) {
					red++
				}
			}
		}
	}
	if transparent == 0 {
		return "transparency", "the background must be transparent"
	}
	if opaque == 0 || red*10 < opaque*6 {
		return "colour", fmt.Sprintf("%d of %d visible pixels are red; a seal imprint is red", red, opaque)
	}
	return "", ""
}

// isRed says whether a colour reads as seal red.
func isRed(r, g, b uint32) bool { return r >= 150 && r >= g+60 && r >= b+60 }

func looksLikeSVG(data []byte) bool {
	head := strings.ToLower(string(data[:min(len(data), 1024)]))
	return strings.Contains(head, "<svg")
}

var colourValue = regexp.MustCompile(`#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b|rgb\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)|\bred\b`)

// checkSVG refuses active content and requires a red stroke or fill.
func checkSVG(data []byte) (rule, detail string) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	root := true
	reds := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "format", "not well-formed SVG: " + err.Error()
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		name := strings.ToLower(el.Name.Local)
		if root {
			if name != "svg" {
				return "format", "the root element is <" + el.Name.Local + ">, not <svg>"
			}
			root = false
		}
		if name == "script" || name == "foreignobject" {
			return "unsafe-svg", "<" + el.Name.Local + "> is not allowed in a seal image"
		}
		for _, a := range el.Attr {
			an := strings.ToLower(a.Name.Local)
			if strings.HasPrefix(an, "on") {
				return "unsafe-svg", "event attribute " + a.Name.Local + " is not allowed"
			}
			if an == "href" && !strings.HasPrefix(strings.TrimSpace(a.Value), "#") && !strings.HasPrefix(a.Value, "data:") {
				return "unsafe-svg", "external reference " + a.Value + " is not allowed"
			}
			if an == "fill" || an == "stroke" || an == "style" || an == "stop-color" {
				reds += countRed(a.Value)
			}
		}
	}
	if root {
		return "format", "no <svg> element"
	}
	if reds == 0 {
		return "colour", "no red fill or stroke; a seal imprint is red"
	}
	return "", ""
}

func countRed(v string) int {
	n := 0
	for _, m := range colourValue.FindAllStringSubmatch(v, -1) {
		switch {
		case m[0] == "red":
			n++
		case m[1] != "":
			h := m[1]
			if len(h) == 3 {
				h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
			}
			r, _ := strconv.ParseUint(h[0:2], 16, 8)
			g, _ := strconv.ParseUint(h[2:4], 16, 8)
			b, _ := strconv.ParseUint(h[4:6], 16, 8)
			if isRed(uint32(r), uint32(g), uint32(b)) {
				n++
			}
		default:
			r, _ := strconv.ParseUint(m[2], 10, 8)
			g, _ := strconv.ParseUint(m[3], 10, 8)
			b, _ := strconv.ParseUint(m[4], 10, 8)
			if isRed(uint32(r), uint32(g), uint32(b)) {
				n++
			}
		}
	}
	return n
}

// SampleImage is a red ring on a transparent 120×120 PNG: an image every
// check of CheckImage accepts, for demonstrations, benchmarks and tests.
func SampleImage() []byte {
	m := image.NewNRGBA(image.Rect(0, 0, 120, 120))
	for y := range 120 {
		for x := range 120 {
			if d := (x-60)*(x-60) + (y-60)*(y-60); d <= 58*58 && d >= 52*52 {
				m.SetNRGBA(x, y, color.NRGBA{R: 210, A: 255})
			}
		}
	}
	var b bytes.Buffer
	png.Encode(&b, m) //nolint:errcheck // encoding to memory cannot fail
	return b.Bytes()
}
