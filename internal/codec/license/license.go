package license

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Format names this version of the license wire format; it is the first
// member a reader checks, so a later format is refused rather than misread.
const Format = "zhengzhao-license/v1"

// License is what the issuer's seal signs: every member is covered by the
// signature (see SigningInput). The JSON names are the wire format.
type License struct {
	Format string `json:"format"` // Format
	// ID is the platform-wide identifier (docs/license-format.md,
	// "Identifier"); its positions 1-6 are Type.Code, and 7-24 the credit
	// code of the first issuer.
	ID string `json:"id"`
	// Number is the license number printed on the face (证照编号).
	Number string `json:"number"`
	Type   Type   `json:"type"`
	Issuer Issuer `json:"issuer"`
	Holder Holder `json:"holder"`
	// IssuedAt is when the license was issued; ValidFrom and ValidUntil
	// bound its validity, ValidUntil absent for a license without an end.
	// All are UTC whole seconds.
	IssuedAt   time.Time  `json:"issued_at"`
	ValidFrom  time.Time  `json:"valid_from"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
	// Face is the face data: one JSON object of the template's field keys
	// (docs/license-format.md, "Template") with scalar values.
	Face json.RawMessage `json:"face"`
	// Status lists the license's entries in its issuer's status lists,
	// one per purpose, in the order of Purposes().
	Status []StatusEntry `json:"status"`
	// Supersedes names the license this one replaces: the previous
	// version of the same license after a change or renewal, or the lost
	// license a reissue replaces.
	Supersedes *Ref `json:"supersedes,omitempty"`
	// Version counts the versions of the license under its identifier,
	// from 1.
	Version int64 `json:"version"`
}

// Type names the license type and the approved template version the
// license was issued under.
type Type struct {
	Code    string `json:"code"`
	Version int64  `json:"version"`
}

// Issuer is the issuing organization: the one whose license-issuing seal
// signs this version — the first issuer, or the new owner after the
// license moved (R-ISS-5).
type Issuer struct {
	CreditCode string `json:"credit_code"`
	Name       string `json:"name"`
}

// HolderKind says whether a person or an organization holds the license.
type HolderKind string

// The holder kinds, as the license type's holder kind.
const (
	HolderPerson       HolderKind = "person"
	HolderOrganization HolderKind = "organization"
)

// Holder is who holds the license: for a person the citizen ID number,
// for an organization the credit code, as Identifier.
type Holder struct {
	Kind       HolderKind `json:"kind"`
	Identifier string     `json:"identifier"`
	Name       string     `json:"name"`
}

// Purpose is what a status list entry tells, as W3C Bitstring Status List
// v1.0 statusPurpose: a set bit means revoked, or suspended.
type Purpose string

// The status purposes.
const (
	PurposeRevocation Purpose = "revocation"
	PurposeSuspension Purpose = "suspension"
)

// Purposes returns the purposes every license has an entry for, in the
// order Status lists them.
func Purposes() []Purpose { return []Purpose{PurposeRevocation, PurposeSuspension} }

// StatusEntry places the license in one status list: the bit at Index of
// the list published at ListURL.
type StatusEntry struct {
	Purpose Purpose `json:"purpose"`
	ListURL string  `json:"list_url"`
	Index   int64   `json:"index"`
}

// Ref names one version of a license.
type Ref struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
}

// Limits of the format. MaxSafeInteger is the largest integer every
// reader of RFC 8785 canonical JSON (IEEE doubles) holds exactly: a larger
// number would be signed as a different value than it is written.
const (
	MaxSafeInteger = 1<<53 - 1
	maxText        = 200  // characters of a name or number
	maxURL         = 2000 // bytes of a status list URL
	maxFaceFields  = 200
)

// ErrInvalid is wrapped by every error about the content of a license or
// document: the input is bad, and retrying it will not help.
var ErrInvalid = errors.New("invalid license document")

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// Validate checks l against the format: every member present and well
// formed, the identifier consistent with the type and the issuer, times
// UTC whole seconds with valid_from before valid_until, one status entry
// per purpose, a face object of scalar values. It returns the first
// problem, wrapping ErrInvalid.
func (l *License) Validate() error {
	if l.Format != Format {
		return invalid("format", "%q, want %q", l.Format, Format)
	}
	if err := checkID("id", l.ID); err != nil {
		return err
	}
	if err := checkTypeCode("type.code", l.Type.Code); err != nil {
		return err
	}
	if err := checkCreditCode("issuer.credit_code", l.Issuer.CreditCode); err != nil {
		return err
	}
	// The identifier names the type for good; its issuer part names the
	// organization that first issued the license, which Issuer is only
	// until the license moves to a new owner (R-ISS-5).
	if l.ID[:typeCodeLen] != l.Type.Code {
		return invalid("id", "%s is not an identifier of type %s", l.ID, l.Type.Code)
	}
	for _, t := range []struct {
		field, value string
	}{{"number", l.Number}, {"issuer.name", l.Issuer.Name}, {"holder.identifier", l.Holder.Identifier}, {"holder.name", l.Holder.Name}} {
		if err := checkText(t.field, t.value); err != nil {
			return err
		}
	}
	if l.Holder.Kind != HolderPerson && l.Holder.Kind != HolderOrganization {
		return invalid("holder.kind", "%q, want %q or %q", l.Holder.Kind, HolderPerson, HolderOrganization)
	}
	for _, c := range []struct {
		field string
		n     int64
	}{{"type.version", l.Type.Version}, {"version", l.Version}} {
		if c.n < 1 || c.n > MaxSafeInteger {
			return invalid(c.field, "%d is not 1-%d", c.n, int64(MaxSafeInteger))
		}
	}
	if err := l.checkTimes(); err != nil {
		return err
	}
	if err := checkFace(l.Face); err != nil {
		return err
	}
	if err := checkStatus(l.Status); err != nil {
		return err
	}
	return l.checkSupersedes()
}

func (l *License) checkTimes() error {
	times := []struct {
		field string
		t     time.Time
	}{{"issued_at", l.IssuedAt}, {"valid_from", l.ValidFrom}}
	if l.ValidUntil != nil {
		times = append(times, struct {
			field string
			t     time.Time
		}{"valid_until", *l.ValidUntil})
	}
	for _, c := range times {
		switch {
		case c.t.IsZero():
			return invalid(c.field, "required")
		case c.t.Location() != time.UTC:
			return invalid(c.field, "%s is not in UTC", c.t.Format(time.RFC3339))
		case c.t.Nanosecond() != 0:
			return invalid(c.field, "%s has fractions of a second", c.t.Format(time.RFC3339Nano))
		case c.t.Year() < 1 || c.t.Year() > 9999:
			return invalid(c.field, "year %d is not 0001-9999", c.t.Year())
		}
	}
	if l.ValidUntil != nil && !l.ValidFrom.Before(*l.ValidUntil) {
		return invalid("valid_until", "%s is not after valid_from %s",
			l.ValidUntil.Format(time.RFC3339), l.ValidFrom.Format(time.RFC3339))
	}
	return nil
}

func (l *License) checkSupersedes() error {
	s := l.Supersedes
	if s == nil {
		return nil
	}
	if err := checkID("supersedes.id", s.ID); err != nil {
		return err
	}
	if s.Version < 1 || s.Version > MaxSafeInteger {
		return invalid("supersedes.version", "%d is not 1-%d", s.Version, int64(MaxSafeInteger))
	}
	if s.ID == l.ID && s.Version != l.Version-1 {
		return invalid("supersedes.version", "version %d of the same license is superseded by version %d, want %d",
			s.Version, l.Version, s.Version+1)
	}
	return nil
}

// checkText refuses empty text, text of more than maxText characters and
// text with control, format (bidi, zero-width) or surrounding white space:
// what is signed is what a person reads.
func checkText(field, s string) error {
	switch {
	case s == "":
		return invalid(field, "required")
	case utf8.RuneCountInString(s) > maxText:
		return invalid(field, "longer than %d characters", maxText)
	case strings.TrimSpace(s) != s:
		return invalid(field, "surrounding white space")
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return invalid(field, "character %U is not allowed", r)
		}
	}
	return nil
}

// checkStatus requires one entry per purpose, in the order of Purposes(),
// each with an absolute http(s) URL and an index in range.
func checkStatus(entries []StatusEntry) error {
	purposes := Purposes()
	if len(entries) != len(purposes) {
		return invalid("status", "%d entries, want one per purpose %v", len(entries), purposes)
	}
	for i, e := range entries {
		field := "status[" + strconv.Itoa(i) + "]"
		if e.Purpose != purposes[i] {
			return invalid(field+".purpose", "%q, want %q", e.Purpose, purposes[i])
		}
		if e.Index < 0 || e.Index > MaxSafeInteger {
			return invalid(field+".index", "%d is not 0-%d", e.Index, int64(MaxSafeInteger))
		}
		if err := checkListURL(field+".list_url", e.ListURL); err != nil {
			return err
		}
	}
	return nil
}

func checkListURL(field, s string) error {
	if len(s) > maxURL {
		return invalid(field, "longer than %d bytes", maxURL)
	}
	u, err := url.Parse(s)
	if err != nil {
		return invalid(field, "not a URL")
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" || u.String() != s {
		return invalid(field, "%q is not an absolute http(s) URL without user or fragment, as written", s)
	}
	return nil
}

// checkFace requires one JSON object of distinct keys whose values are
// strings, safe integers, booleans or null: the catalog's field types are
// all scalars, and a number beyond MaxSafeInteger or with a fraction would
// be signed (canonicalized) as another text than the one shown.
func checkFace(face json.RawMessage) error {
	// The strict scanner accepts only what the Decoder below accepts, and
	// costs a fraction of it; the Decoder names what is wrong.
	if _, ok := scanFace(face); ok {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(face))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return invalid("face", "not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return invalid("face", "%v", err)
		}
		key, _ := tok.(string)
		if key == "" || seen[key] {
			return invalid("face", "empty or repeated key %q", key)
		}
		if seen[key] = true; len(seen) > maxFaceFields {
			return invalid("face", "more than %d fields", maxFaceFields)
		}
		tok, err = dec.Token()
		if err != nil {
			return invalid("face."+key, "%v", err)
		}
		switch v := tok.(type) {
		case string, bool, nil:
		case json.Number:
			if !safeInteger(string(v)) {
				return invalid("face."+key, "number %s is not an integer of at most %d in magnitude", v, int64(MaxSafeInteger))
			}
		default:
			return invalid("face."+key, "not a string, integer, boolean or null")
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return invalid("face", "not a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("face", "data after the object")
	}
	return nil
}

// safeInteger reports whether a JSON number is written as an integer
// (no fraction, exponent or leading zero; not -0) within MaxSafeInteger,
// which RFC 8785 writes back as the same text.
func safeInteger(s string) bool {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || (len(digits) > 1 && digits[0] == '0') || s == "-0" {
		return false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	return err == nil && n <= MaxSafeInteger
}
