package apperr

import (
	"unicode"
)

// Name checks a name people read (an organization's, an account's, a
// seal's, a certificate's common name): what Text checks, and no character
// that changes how the rest is shown without being seen itself. A bidi
// override or isolate (U+202A–U+202E, U+2066–U+2069) or mark (U+200E,
// U+200F, U+061C) makes a name read differently than it is stored, so
// that "seal of A" can display as another; zero-width and other format
// characters (U+200B–U+200D, U+2060–U+2064, U+FEFF, U+00AD…) make two
// names that look the same differ. Control characters and U+FFFD, the
// mark of a lost byte, are refused too. It reports whether the value
// passed. Every name that enters the platform, through the API or the
// command line, is checked here.
func (fs *Fields) Name(field, v string, max int, required bool) bool {
	if !fs.Text(field, v, max, required) {
		return false
	}
	for _, r := range v {
		switch {
		case bidiControl(r):
			fs.Add(field, "bidi-control", "bidirectional control characters (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) are not allowed")
		case unicode.Is(unicode.Cf, r):
			fs.Add(field, "invisible", "invisible characters (zero-width spaces and joiners, U+FEFF, soft hyphens) are not allowed")
		case unicode.IsControl(r):
			fs.Add(field, "no-control", "control characters are not allowed")
		case r == unicode.ReplacementChar:
			fs.Add(field, "utf8", "U+FFFD marks text that was not valid UTF-8")
		default:
			continue
		}
		return false
	}
	return true
}

// bidiControl reports whether r is one of the Unicode bidirectional
// formatting characters (UAX #9, table 1).
func bidiControl(r rune) bool {
	return r == 0x061C || r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}
