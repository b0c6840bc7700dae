package qr

import (
	"fmt"
	"reflect"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// NonceSize is the length of a payload's nonce: 16 random bytes, so a
// verifier that remembers the nonces it saw within their minute can refuse
// a replayed screenshot.
const NonceSize = 16

// Claim keys. The CWT claims are those of RFC 8392; the private claim holds
// the license, keyed by small integers as the EU digital COVID certificate
// keys its own (claim -260), but in the private-use range of the CWT claims
// registry (below -65536), since the platform registers none.
const (
	claimIss     = 1      // CWT iss
	claimExp     = 4      // CWT exp
	claimIat     = 6      // CWT iat
	claimLicense = -65537 // private: the license shown
)

// Keys of the private license claim.
const (
	keyLicenseID   = 1 // tstr: the license identifier
	keyTypeCode    = 2 // tstr: the license type code
	keyTypeVersion = 3 // uint: the approved template version
	keyIssuerCode  = 4 // tstr: the issuer's unified social credit code
	keyHolder      = 5 // tstr: the holder's name, masked
	keyFields      = 6 // map tstr → tstr / int / bool / null: the face fields disclosed
	keyStatusLists = 7 // [revocation list URL, suspension list URL]
	keyStatusIndex = 8 // uint: the license's index in both lists
	keyNonce       = 9 // bstr .size 16
)

// Claims is what a payload asserts: who signed it and for how long (the CWT
// claims), and the license shown with the face fields the holder chose to
// disclose.
type Claims struct {
	// Issuer is the CWT iss: the platform whose presentation key signs.
	Issuer string
	// IssuedAt and Expires are the CWT iat and exp, whole seconds. Encode
	// sets Expires to IssuedAt + DefaultLifetime when it is zero.
	IssuedAt, Expires time.Time

	// LicenseID is the license identifier (docs/license-format.md).
	LicenseID string
	// TypeCode and TypeVersion are the license type and the approved
	// template version the license was issued under.
	TypeCode    string
	TypeVersion uint64
	// IssuerCode is the unified social credit code of the issuer whose
	// seal signs the license.
	IssuerCode string
	// Holder is the holder's name as shown, already masked (for example
	// "林*峰").
	Holder string
	// Fields are the face fields disclosed, each a string, an int64, a bool
	// or nil, as a license face holds them. Empty when none is.
	Fields map[string]any
	// RevocationList and SuspensionList are the URLs of the issuer's two
	// status lists, and StatusIndex the license's bit in both.
	RevocationList, SuspensionList string
	StatusIndex                    uint64
	// Nonce makes each payload unique. Encode draws it when it is zero.
	Nonce [NonceSize]byte
}

// wireClaims is the CBOR claims map.
type wireClaims struct {
	Iss     string      `cbor:"1,keyasint"`
	Exp     *int64      `cbor:"4,keyasint"`
	Iat     *int64      `cbor:"6,keyasint"`
	License wireLicense `cbor:"-65537,keyasint"`
}

// wireLicense is the private license claim.
type wireLicense struct {
	ID          string         `cbor:"1,keyasint"`
	TypeCode    string         `cbor:"2,keyasint"`
	TypeVersion uint64         `cbor:"3,keyasint"`
	IssuerCode  string         `cbor:"4,keyasint"`
	Holder      string         `cbor:"5,keyasint"`
	Fields      map[string]any `cbor:"6,keyasint"`
	StatusLists []string       `cbor:"7,keyasint"`
	StatusIndex *uint64        `cbor:"8,keyasint"`
	Nonce       []byte         `cbor:"9,keyasint"`
}

// detEnc writes core deterministic encoding (RFC 8949 §4.2.1): shortest
// heads, map keys sorted bytewise, no indefinite lengths.
var detEnc = func() cbor.EncMode {
	m, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// strictDec reads the COSE_Sign1, its protected header and the claims
// strictly: an unknown claim, key or header label, a repeated key, a tag,
// an indefinite length, invalid UTF-8 or deep nesting is an error, not
// something skipped.
var strictDec = func() cbor.DecMode {
	m, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		IntDec:            cbor.IntDecConvertSignedOrFail,
		DefaultMapType:    reflect.TypeFor[map[string]any](),
		MaxNestedLevels:   4,
		MaxArrayElements:  16,
		MaxMapPairs:       64,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// marshalClaims checks c and encodes it.
func marshalClaims(c Claims) ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	fields := make(map[string]any, len(c.Fields))
	for k, v := range c.Fields {
		if i, ok := v.(int); ok {
			v = int64(i)
		}
		fields[k] = v
	}
	w := wireClaims{
		Iss: c.Issuer, Exp: new(c.Expires.Unix()), Iat: new(c.IssuedAt.Unix()),
		License: wireLicense{
			ID: c.LicenseID, TypeCode: c.TypeCode, TypeVersion: c.TypeVersion,
			IssuerCode: c.IssuerCode, Holder: c.Holder, Fields: fields,
			StatusLists: []string{c.RevocationList, c.SuspensionList},
			StatusIndex: &c.StatusIndex, Nonce: c.Nonce[:],
		},
	}
	b, err := detEnc.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("%w: encode: %w", ErrClaims, err)
	}
	return b, nil
}

// unmarshalClaims decodes and checks the claims of a payload.
func unmarshalClaims(b []byte) (Claims, error) {
	var w wireClaims
	if err := strictDec.Unmarshal(b, &w); err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrClaims, err)
	}
	// A missing claim must not read as its zero value: status index 0 is
	// a license's bit, and a missing iat would widen the window to 1970.
	switch {
	case w.Iat == nil || w.Exp == nil:
		return Claims{}, fmt.Errorf("%w: iat or exp missing", ErrClaims)
	case w.License.StatusIndex == nil:
		return Claims{}, fmt.Errorf("%w: status index missing", ErrClaims)
	case w.License.Fields == nil:
		return Claims{}, fmt.Errorf("%w: fields missing", ErrClaims)
	}
	if len(w.License.StatusLists) != 2 {
		return Claims{}, fmt.Errorf("%w: %d status lists, want 2", ErrClaims, len(w.License.StatusLists))
	}
	if len(w.License.Nonce) != NonceSize {
		return Claims{}, fmt.Errorf("%w: nonce of %d bytes, want %d", ErrClaims, len(w.License.Nonce), NonceSize)
	}
	c := Claims{
		Issuer: w.Iss, IssuedAt: time.Unix(*w.Iat, 0).UTC(), Expires: time.Unix(*w.Exp, 0).UTC(),
		LicenseID: w.License.ID, TypeCode: w.License.TypeCode, TypeVersion: w.License.TypeVersion,
		IssuerCode: w.License.IssuerCode, Holder: w.License.Holder, Fields: w.License.Fields,
		RevocationList: w.License.StatusLists[0], SuspensionList: w.License.StatusLists[1],
		StatusIndex: *w.License.StatusIndex,
	}
	copy(c.Nonce[:], w.License.Nonce)
	if err := c.check(); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// check refuses claims a verifier could not act on: a missing text claim,
// a validity window that is empty, or a field value a face cannot hold.
func (c Claims) check() error {
	for _, m := range []struct{ name, v string }{
		{"iss", c.Issuer}, {"license id", c.LicenseID}, {"type code", c.TypeCode},
		{"issuer credit code", c.IssuerCode}, {"holder", c.Holder},
		{"revocation list", c.RevocationList}, {"suspension list", c.SuspensionList},
	} {
		if m.v == "" || !utf8.ValidString(m.v) {
			return fmt.Errorf("%w: %s is empty or not UTF-8", ErrClaims, m.name)
		}
	}
	if c.TypeVersion == 0 {
		return fmt.Errorf("%w: type version is 0, versions start at 1", ErrClaims)
	}
	if c.IssuedAt.Unix() <= 0 {
		return fmt.Errorf("%w: iat %s is not after 1970", ErrClaims, c.IssuedAt.Format(time.RFC3339))
	}
	if !c.Expires.After(c.IssuedAt) {
		return fmt.Errorf("%w: exp %s is not after iat %s", ErrClaims, c.Expires.Format(time.RFC3339), c.IssuedAt.Format(time.RFC3339))
	}
	// The first bad field in key order is named, so the error is the same
	// every time; no sorting on the path of a valid payload.
	bad, found := "", false
	for k, v := range c.Fields {
		switch v.(type) {
		case string, int, int64, bool, nil:
		default:
			if !found || k < bad {
				bad, found = k, true
			}
		}
	}
	if found {
		return fmt.Errorf("%w: field %q is a %T, want a string, an integer, a bool or null", ErrClaims, bad, c.Fields[bad])
	}
	return nil
}
