package printout

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// The Debian packages whose fonts the renderer finds without
// configuration: Droid Sans Fallback has the Chinese characters but no
// Latin letters or digits, which DejaVu Sans (installed with almost every
// Debian system) draws.
const (
	FontPackage      = "fonts-droid-fallback"
	LatinFontPackage = "fonts-dejavu-core"
)

// KnownFonts returns the CJK TrueType files FindFont looks for, in order,
// each installed by a Debian package. Only TrueType outlines in a single
// font file serve: fpdf subsets glyf tables, so collections (.ttc, such as
// fonts-wqy-microhei and fonts-noto-cjk) and CFF OpenType (.otf) fonts do
// not.
func KnownFonts() []string {
	return []string{
		"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", // fonts-droid-fallback
		"/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf",    // fonts-arphic-gbsn00lp
	}
}

// KnownLatinFonts returns the TrueType files FindLatinFont looks for: the
// letters, digits and punctuation outside the CJK blocks are drawn with
// one of them.
func KnownLatinFonts() []string {
	return []string{
		"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",                  // fonts-dejavu-core
		"/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf", // fonts-liberation2
		"/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",  // fonts-liberation
	}
}

// ErrNoFont is wrapped by every *FontError.
var ErrNoFont = errors.New("no usable TrueType font")

// FontError says that no usable CJK font was found: the configured path is
// missing or not a single TrueType font, or, without one, none of
// KnownFonts is installed. Its message names the package to install.
type FontError struct {
	// Package is the Debian package that provides a known font.
	Package string
	// Configured is the configured font path, "" when the known paths
	// were searched.
	Configured string
	// Tried lists the paths looked at, with why each was refused.
	Tried []string
}

func (e *FontError) Error() string {
	what := "none of the known font files is installed"
	if e.Configured != "" {
		what = "the configured font is not usable"
	}
	return fmt.Sprintf("printout: %v: %s (%s); install the Debian package %s (apt-get install %s) or configure the path of a TrueType (.ttf) font",
		ErrNoFont, what, strings.Join(e.Tried, "; "), e.Package, e.Package)
}

// Unwrap returns ErrNoFont.
func (e *FontError) Unwrap() error { return ErrNoFont }

// FindFont returns the bytes of the CJK font to print with: the configured
// path if not "", else the first usable file of KnownFonts. A missing or
// unusable font is a *FontError.
func FindFont(configured string) (path string, data []byte, err error) {
	return findFont(configured, KnownFonts(), FontPackage)
}

// FindLatinFont is FindFont for the Latin font: the configured path if not
// "", else the first usable file of KnownLatinFonts.
func FindLatinFont(configured string) (path string, data []byte, err error) {
	return findFont(configured, KnownLatinFonts(), LatinFontPackage)
}

func findFont(configured string, known []string, pkg string) (string, []byte, error) {
	candidates := known
	if configured != "" {
		candidates = []string{configured}
	}
	fe := &FontError{Package: pkg, Configured: configured}
	for _, p := range candidates {
		data, err := os.ReadFile(p)
		if err == nil {
			err = checkTrueType(data)
		}
		if err != nil {
			fe.Tried = append(fe.Tried, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		return p, data, nil
	}
	return "", nil, fe
}

// checkTrueType refuses what fpdf's UTF-8 font support cannot read, before
// it fails deep inside the PDF writer: a font collection or CFF outlines.
func checkTrueType(data []byte) error {
	switch {
	case len(data) < 12:
		return errors.New("not a font file")
	case bytes.HasPrefix(data, []byte("ttcf")):
		return errors.New("a font collection (.ttc), not a single TrueType font")
	case bytes.HasPrefix(data, []byte("OTTO")):
		return errors.New("CFF outlines (.otf), not TrueType")
	case bytes.HasPrefix(data, []byte{0, 1, 0, 0}), bytes.HasPrefix(data, []byte("true")):
		return nil
	default:
		return errors.New("not a TrueType font file")
	}
}
