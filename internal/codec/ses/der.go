package ses

import (
	"encoding/asn1"
	"fmt"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// tag0 is the [0] EXPLICIT tag of TBS_Sign.extDatas, SES_Signature.timeStamp
// and the version 5 SESeal.timeStamp (EXPLICIT there too, as the ofdrw
// samples show: A0 06 03 04 00 ...).
var tag0 = cbasn1.Tag(0).ContextSpecific().Constructed()

// timeLayout formats a GeneralizedTime as DER requires: UTC, "Z", and
// fractional seconds only when non-zero, without trailing zeros.
const timeLayout = "20060102150405.999999999Z"

// malformed returns an ErrMalformed error naming the field.
func malformed(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, field, fmt.Sprintf(format, args...))
}

// --- encoding ---------------------------------------------------------

func addIA5(b *cryptobyte.Builder, field, s string) {
	if !isIA5(s) {
		b.SetError(malformed(field, "not IA5 (ASCII) text"))
		return
	}
	b.AddASN1(cbasn1.IA5String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
}

func addUTF8(b *cryptobyte.Builder, field, s string) {
	if !utf8.ValidString(s) {
		b.SetError(malformed(field, "not valid UTF-8"))
		return
	}
	b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
}

func addPrintable(b *cryptobyte.Builder, field, s string) {
	if !isPrintable(s) {
		b.SetError(malformed(field, "not PrintableString text"))
		return
	}
	b.AddASN1(cbasn1.PrintableString, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
}

func addTime(b *cryptobyte.Builder, field string, t time.Time) {
	if t.IsZero() {
		b.SetError(malformed(field, "zero time"))
		return
	}
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		b.SetError(malformed(field, "year %d outside 0000..9999", y))
		return
	}
	s := t.UTC().Format(timeLayout)
	b.AddASN1(cbasn1.GeneralizedTime, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
}

func addOID(b *cryptobyte.Builder, field string, oid asn1.ObjectIdentifier) {
	if len(oid) < 2 || oid[0] > 2 || (oid[0] < 2 && oid[1] >= 40) {
		b.SetError(malformed(field, "invalid object identifier %v", oid))
		return
	}
	for _, v := range oid {
		if v < 0 {
			b.SetError(malformed(field, "invalid object identifier %v", oid))
			return
		}
	}
	b.AddASN1ObjectIdentifier(oid)
}

// addBits writes an octet-aligned BIT STRING.
func addBits(b *cryptobyte.Builder, data []byte) { b.AddASN1BitString(data) }

// addTimeStamp writes an optional timeStamp as [0] EXPLICIT BIT STRING;
// nil writes nothing.
func addTimeStamp(b *cryptobyte.Builder, ts []byte) {
	if ts != nil {
		b.AddASN1(tag0, func(b *cryptobyte.Builder) { addBits(b, ts) })
	}
}

func addExtensions(b *cryptobyte.Builder, exts []ExtData) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for i, e := range exts {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addOID(b, fmt.Sprintf("extDatas[%d].extnID", i), e.ID)
				if e.Critical {
					b.AddASN1Boolean(true)
				} else if e.ExplicitFalse {
					b.AddASN1Boolean(false)
				}
				b.AddASN1OctetString(e.Value)
			})
		}
	})
}

// --- decoding ---------------------------------------------------------

func readSeq(s *cryptobyte.String, out *cryptobyte.String, field string) error {
	if !s.ReadASN1(out, cbasn1.SEQUENCE) {
		return malformed(field, "want SEQUENCE")
	}
	return nil
}

func readInt(s *cryptobyte.String, field string) (int64, error) {
	var v int64
	if !s.ReadASN1Integer(&v) {
		return 0, malformed(field, "want INTEGER in int64 range")
	}
	return v, nil
}

func readString(s *cryptobyte.String, tag cbasn1.Tag, field string) (string, error) {
	var v cryptobyte.String
	if !s.ReadASN1(&v, tag) {
		return "", malformed(field, "want %s", tagName(tag))
	}
	str := string(v)
	ok := true
	switch tag {
	case cbasn1.IA5String:
		ok = isIA5(str)
	case cbasn1.UTF8String:
		ok = utf8.ValidString(str)
	case cbasn1.PrintableString:
		ok = isPrintable(str)
	}
	if !ok {
		return "", malformed(field, "invalid characters for %s", tagName(tag))
	}
	return str, nil
}

func readOctets(s *cryptobyte.String, field string) ([]byte, error) {
	var v []byte
	if !s.ReadASN1Bytes(&v, cbasn1.OCTET_STRING) {
		return nil, malformed(field, "want OCTET STRING")
	}
	return v, nil
}

func readOID(s *cryptobyte.String, field string) (asn1.ObjectIdentifier, error) {
	var v asn1.ObjectIdentifier
	if !s.ReadASN1ObjectIdentifier(&v) {
		return nil, malformed(field, "want OBJECT IDENTIFIER")
	}
	return v, nil
}

// readBits reads an octet-aligned DER BIT STRING.
func readBits(s *cryptobyte.String, field string) ([]byte, error) {
	var v asn1.BitString
	if !s.ReadASN1BitString(&v) {
		return nil, malformed(field, "want BIT STRING")
	}
	if v.BitLength%8 != 0 {
		return nil, malformed(field, "BIT STRING is not octet-aligned")
	}
	return v.Bytes, nil
}

// readTime reads a DER GeneralizedTime: UTC ("Z"), seconds present,
// fractional seconds without trailing zeros. It accepts exactly what
// addTime writes.
func readTime(s *cryptobyte.String, field string) (time.Time, error) {
	var v cryptobyte.String
	if !s.ReadASN1(&v, cbasn1.GeneralizedTime) {
		return time.Time{}, malformed(field, "want GeneralizedTime")
	}
	str := string(v)
	if len(str) < 15 || str[14] != 'Z' && str[14] != '.' {
		return time.Time{}, malformed(field, "GeneralizedTime %q is not YYYYMMDDHHMMSS[.f]Z", str)
	}
	t, err := time.Parse(timeLayout, str)
	if err != nil || t.Format(timeLayout) != str {
		return time.Time{}, malformed(field, "GeneralizedTime %q is not DER (UTC, Z, no trailing zeros)", str)
	}
	return t, nil
}

// readTimeStamp reads an optional [0] EXPLICIT BIT STRING, the timeStamp of
// SES_Signature and of a version 5 SESeal; it returns nil when absent.
func readTimeStamp(s *cryptobyte.String, field string) ([]byte, error) {
	var ts cryptobyte.String
	var present bool
	if !s.ReadOptionalASN1(&ts, &present, tag0) {
		return nil, malformed(field, "bad [0] element")
	}
	if !present {
		return nil, nil
	}
	v, err := readBits(&ts, field)
	if err != nil {
		return nil, err
	}
	if !ts.Empty() {
		return nil, malformed(field, "trailing bytes in [0]")
	}
	return v, nil
}

func readExtensions(s *cryptobyte.String, field string) ([]ExtData, error) {
	var seq cryptobyte.String
	if err := readSeq(s, &seq, field); err != nil {
		return nil, err
	}
	exts := []ExtData{}
	for i := 0; !seq.Empty(); i++ {
		f := fmt.Sprintf("%s[%d]", field, i)
		var e cryptobyte.String
		if err := readSeq(&seq, &e, f); err != nil {
			return nil, err
		}
		var d ExtData
		var err error
		if d.ID, err = readOID(&e, f+".extnID"); err != nil {
			return nil, err
		}
		if e.PeekASN1Tag(cbasn1.BOOLEAN) {
			if !e.ReadASN1Boolean(&d.Critical) {
				return nil, malformed(f+".critical", "want DER BOOLEAN")
			}
			d.ExplicitFalse = !d.Critical
		}
		if d.Value, err = readOctets(&e, f+".extnValue"); err != nil {
			return nil, err
		}
		if !e.Empty() {
			return nil, malformed(f, "trailing fields")
		}
		exts = append(exts, d)
	}
	return exts, nil
}

func tagName(t cbasn1.Tag) string {
	switch t {
	case cbasn1.IA5String:
		return "IA5String"
	case cbasn1.UTF8String:
		return "UTF8String"
	case cbasn1.PrintableString:
		return "PrintableString"
	}
	return fmt.Sprintf("tag %d", uint8(t))
}

func isIA5(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// isPrintable reports whether s uses only the PrintableString alphabet
// (X.680 41.4).
func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == ' ' || c == '\'' || c == '(' || c == ')' || c == '+' || c == ',' ||
			c == '-' || c == '.' || c == '/' || c == ':' || c == '=' || c == '?':
		default:
			return false
		}
	}
	return true
}
