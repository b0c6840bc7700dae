package license

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"

	"github.com/zhengzhao/zhengzhao/internal/keys/canon"
)

// MaxDocumentSize bounds a signed license document: a face of a few
// hundred short fields and a signature carrying its seal's picture fit
// many times over, and canonicalizing stays cheap on outside input.
const MaxDocumentSize = 256 << 10

// Document is a signed license: the license and the GB/T 38540
// SES_Signature (DER) the issuer's license-issuing seal made over the SM3
// digest of SigningInput(License). On the wire it is
//
//	{"license": {...}, "signature": "<base64 of the DER>"}
//
// in RFC 8785 canonical form. The signature is beside the license, not
// inside it, so what is signed is exactly the "license" member.
//
// A batch-signed document (batch.go) has a third member, "batch": the
// signature is then over the batch header, and the license is tied to
// the header's root by its inclusion proof. A reader of the first format
// refuses such a document as having an unknown member.
type Document struct {
	Batch     *Batch  `json:"batch,omitempty"`
	License   License `json:"license"`
	Signature []byte  `json:"signature"` // SES_Signature, DER (base64 in JSON)

	signed []byte // Decode's SigningInput(License), reused by SigningInput
}

// SignedData returns the bytes whose SM3 the SES_Signature's dataHash
// must be: the license's signing input, or for a batch-signed document
// its batch header's.
func (d *Document) SignedData() ([]byte, error) {
	if d.Batch != nil {
		return BatchSigningInput(d.Batch.Header)
	}
	return d.SigningInput()
}

// SigningInput returns SigningInput(d.License); for a document from
// Decode, without computing it again.
func (d *Document) SigningInput() ([]byte, error) {
	if d.signed != nil {
		return d.signed, nil
	}
	return SigningInput(d.License)
}

// SigningInput returns the bytes the seal signs: the RFC 8785 canonical
// JSON of the license. The SES_Signature's dataHash is their SM3 (Digest),
// as for any document a seal stamps. The license must be valid.
func SigningInput(l License) ([]byte, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if out, ok := l.appendCanonical(make([]byte, 0, 1024+len(l.Face))); ok {
		return out, nil
	}
	out, err := canon.JSON(l)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return out, nil
}

// Digest returns the SM3 digest of SigningInput(l): what the
// SES_Signature's dataHash must be.
func Digest(l License) ([]byte, error) {
	in, err := SigningInput(l)
	if err != nil {
		return nil, err
	}
	h := sm3.Sum(in)
	return h[:], nil
}

// Encode returns the document in canonical form. The license must be
// valid and the signature present; Encode does not check the signature.
func Encode(d Document) ([]byte, error) {
	if err := d.License.Validate(); err != nil {
		return nil, err
	}
	if len(d.Signature) == 0 {
		return nil, invalid("signature", "required")
	}
	if d.Batch != nil {
		if err := d.Batch.Validate(); err != nil {
			return nil, err
		}
	}
	out, err := canon.JSON(d)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(out) > MaxDocumentSize {
		return nil, invalid("document", "%d bytes, more than %d", len(out), MaxDocumentSize)
	}
	return out, nil
}

// EncodeSigned is Encode for a document whose license's signing input
// (SigningInput: the license validated, in canonical JSON) the caller has
// made already, to have it signed: the canonical document is put together
// around those bytes instead of canonicalizing the license again, which is
// most of the cost of encoding a batch of thousands. The members of the
// document sort as batch, license, signature, and the signature's base64
// needs no escape, so the result is Encode's (a test compares them).
func EncodeSigned(d Document, signingInput []byte) ([]byte, error) {
	if len(d.Signature) == 0 {
		return nil, invalid("signature", "required")
	}
	out := make([]byte, 0, len(signingInput)+base64.StdEncoding.EncodedLen(len(d.Signature))+2048)
	out = append(out, '{')
	if d.Batch != nil {
		if err := d.Batch.Validate(); err != nil {
			return nil, err
		}
		out = append(d.Batch.appendCanonical(append(out, `"batch":`...)), ',')
	}
	out = append(append(out, `"license":`...), signingInput...)
	out = append(out, `,"signature":"`...)
	out = base64.StdEncoding.AppendEncode(out, d.Signature)
	out = append(out, `"}`...)
	if len(out) > MaxDocumentSize {
		return nil, invalid("document", "%d bytes, more than %d", len(out), MaxDocumentSize)
	}
	return out, nil
}

// Decode parses a signed license document strictly: at most
// MaxDocumentSize bytes of UTF-8, one JSON object with exactly the members
// "license" and "signature" (and "batch" when batch-signed), no member unknown, repeated or spelled in
// another case, no null for an absent member, times as Validate wants
// them, the signature as plain padded base64. White space and member
// order are free: the content, not its formatting, is signed. Errors wrap
// ErrInvalid. Decode does not check the signature (verify.License does).
func Decode(data []byte) (Document, error) {
	if d, ok := decodeCanonical(data); ok {
		return d, nil
	}
	return decodeStrict(data)
}

// decodeCanonical is Decode for a document whose license member is
// already the canonical JSON Go writes back from what it read, as every
// stored document is: then the received license has no repeated member,
// nothing Go reads differently and is its own canonical form, so neither
// it nor its face need canonicalizing. It reports false for anything
// else, which decodeStrict then judges and explains.
func decodeCanonical(data []byte) (Document, bool) {
	if len(data) > MaxDocumentSize || !utf8.Valid(data) {
		return Document{}, false
	}
	m, err := members(data)
	if err != nil {
		return Document{}, false
	}
	var l License
	dec := json.NewDecoder(bytes.NewReader(m.license))
	dec.DisallowUnknownFields()
	if dec.Decode(&l) != nil || l.Validate() != nil {
		return Document{}, false
	}
	signed, err := canon.JSON(l)
	if err != nil || !bytes.Equal(signed, m.license) {
		return Document{}, false
	}
	sig, err := signature(m.sig)
	if err != nil {
		return Document{}, false
	}
	var b *Batch
	if m.batch != nil {
		if b, err = decodeBatch(m.batch); err != nil {
			return Document{}, false
		}
	}
	return Document{Batch: b, License: l, Signature: sig, signed: signed}, true
}

// decodeStrict is Decode for any document, canonical or not.
func decodeStrict(data []byte) (Document, error) {
	f, licenseRaw, err := split(data)
	if err != nil {
		return Document{}, err
	}
	received, sig := f.SigningInput, f.Signature
	// The members are read from the license as received, so that the
	// face's numbers are judged as written, not as RFC 8785 rewrote them.
	var l License
	dec := json.NewDecoder(bytes.NewReader(licenseRaw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return Document{}, fmt.Errorf("%w: license: %w", ErrInvalid, err)
	}
	if err := l.Validate(); err != nil {
		return Document{}, err
	}
	// encoding/json matches names in any case and reads null as absent;
	// writing the license back and comparing the canonical forms refuses
	// whatever Go understood differently from what was written, so the
	// signed content is exactly the received content.
	signed, err := canon.JSON(l)
	if err != nil {
		return Document{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if !bytes.Equal(signed, received) {
		return Document{}, invalid("license", "%s", firstDifference(received, signed))
	}
	// A decoded face is kept canonical, as Encode writes it, so that
	// Decode(Encode(d)) is d whatever the received formatting.
	if l.Face, err = canon.Transform(l.Face); err != nil {
		return Document{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return Document{Batch: f.Batch, License: l, Signature: sig, signed: signed}, nil
}

// Frame is the frame of a document as Split reads it.
type Frame struct {
	SigningInput []byte // the canonical JSON of the license member
	Signature    []byte // the SES_Signature, DER
	Batch        *Batch // the batch member, read strictly; nil when signed alone
}

// SignedData returns the bytes whose SM3 the signature's dataHash must
// be, as Document.SignedData.
func (f Frame) SignedData() ([]byte, error) {
	if f.Batch != nil {
		return BatchSigningInput(f.Batch.Header)
	}
	return f.SigningInput, nil
}

// Split reads only the frame of a document: its members, the canonical
// JSON of the license member, the signature and the batch member. It does
// not check the license against the format, so that a verifier can still
// tell whether the seal signed these bytes when Decode refuses them — a
// license changed after signing fails its signature (or batch inclusion)
// check, whichever rule of the format the change also breaks. Errors wrap
// ErrInvalid.
func Split(data []byte) (Frame, error) {
	f, _, err := split(data)
	return f, err
}

func split(data []byte) (Frame, json.RawMessage, error) {
	if len(data) > MaxDocumentSize {
		return Frame{}, nil, invalid("document", "%d bytes, more than %d", len(data), MaxDocumentSize)
	}
	if !utf8.Valid(data) {
		return Frame{}, nil, invalid("document", "not valid UTF-8")
	}
	m, err := members(data)
	if err != nil {
		return Frame{}, nil, err
	}
	var f Frame
	// Canonicalizing first refuses what RFC 8785 forbids anywhere in the
	// license — repeated member names, lone surrogates — before Go
	// decoding, which would silently keep the last of repeated names.
	if f.SigningInput, err = canon.Transform(m.license); err != nil {
		return Frame{}, nil, fmt.Errorf("%w: license: %w", ErrInvalid, err)
	}
	if f.Signature, err = signature(m.sig); err != nil {
		return Frame{}, nil, err
	}
	if m.batch != nil {
		if f.Batch, err = decodeBatch(m.batch); err != nil {
			return Frame{}, nil, err
		}
	}
	return f, m.license, nil
}

// rawMembers are a document's top-level members as received.
type rawMembers struct {
	batch, license, sig json.RawMessage
}

// members splits a document into its members, refusing anything else
// at the top level: another or a repeated member, a name in another case,
// data after the object.
func members(data []byte) (rawMembers, error) {
	var m rawMembers
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return m, invalid("document", "not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return m, invalid("document", "%v", err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return m, invalid("document", "%v", err)
		}
		switch name, _ := tok.(string); {
		case name == "license" && m.license == nil:
			m.license = v
		case name == "signature" && m.sig == nil:
			m.sig = v
		case name == "batch" && m.batch == nil:
			m.batch = v
		default:
			return m, invalid("document", "unknown or repeated member %q", name)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return m, invalid("document", "not a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return m, invalid("document", "data after the JSON object")
	}
	if m.license == nil || m.sig == nil {
		return m, invalid("document", "want the members \"license\" and \"signature\"")
	}
	return m, nil
}

// signature decodes the signature member: a JSON string of padded
// standard base64 without escapes or line breaks, so that it has one
// spelling and the document's canonical form is what Encode writes.
func signature(raw json.RawMessage) ([]byte, error) {
	// A string without escapes or line breaks is its own text, and strict
	// padded base64 has one spelling of each value, so such a signature
	// decodes as the general path would without being written again.
	if n := len(raw); n > 2 && raw[0] == '"' && raw[n-1] == '"' && !bytes.ContainsAny(raw[1:n-1], "\\\r\n") {
		if sig, err := base64.StdEncoding.Strict().DecodeString(string(raw[1 : n-1])); err == nil && len(sig) > 0 {
			return sig, nil
		}
	}
	return signatureStrict(raw)
}

// signatureStrict is signature for any JSON value, explaining what is
// wrong with it.
func signatureStrict(raw json.RawMessage) ([]byte, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, invalid("signature", "not a string")
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(s)
	switch {
	case err != nil:
		return nil, invalid("signature", "not base64: %v", err)
	case len(sig) == 0:
		return nil, invalid("signature", "required")
	case string(raw) != `"`+base64.StdEncoding.EncodeToString(sig)+`"`:
		return nil, invalid("signature", "not written as plain padded base64")
	}
	return sig, nil
}

// firstDifference says where two canonical documents part, for an error
// message a person can act on.
func firstDifference(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("not in the format at byte %d of its canonical form (%q): a member in another case, a null for an absent member or a value written differently",
		i, excerpt(got, i))
}

func excerpt(b []byte, i int) string {
	from, to := max(i-20, 0), min(i+20, len(b))
	for from > 0 && !utf8.RuneStart(b[from]) {
		from--
	}
	for to < len(b) && !utf8.RuneStart(b[to]) {
		to++
	}
	return string(b[from:to])
}
