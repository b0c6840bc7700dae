package ses

import (
	"encoding/asn1"
	"errors"
	"time"
)

// OIDSM2WithSM3 identifies SM2 signatures with SM3 (GB/T 33560,
// 1.2.156.10197.1.501). It is the only algorithm GB/T 38540 allows for
// signAlgID and signatureAlgID. Callers must not modify it.
var OIDSM2WithSM3 = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 501}

const (
	// Version4 is the structure version of GB/T 38540-2020: the
	// SES_Header.version of a seal and the TBS_Sign.version of a signature
	// (GB/T 38540 6.1 and 7.1).
	Version4 = 4
	// Version5 is the structure version of GM/T 0031-2025, which adds an
	// optional timeStamp to SESeal and judges the maker certificate at the
	// seal's createDate. This package reads, writes and makes it; see the
	// package comment for what it checks.
	Version5 = 5
	// Version is the structure version MakeSeal makes when the caller
	// leaves Header.Version zero. It stays 4 so that the platform's output
	// remains readable by GB/T 38540-2020 implementations, which reject
	// other versions.
	Version = Version4
	// HeaderID is the fixed SES_Header.id of every seal (GB/T 38540 6.1).
	HeaderID = "ES"
	// CertListCerts is the certListType whose certList holds the signer
	// certificates themselves (CertInfoList).
	CertListCerts = 1
	// CertListDigests is the certListType whose certList holds digests of the
	// signer certificates (CertDigestList).
	CertListDigests = 2
	// HashSize is the size of an SM3 digest, the only dataHash this package
	// makes or accepts in CheckDigest.
	HashSize = 32
)

// supportedVersion reports whether v is a structure version this package
// reads and writes.
func supportedVersion(v int64) bool { return v == Version4 || v == Version5 }

// Names of the checks a *CheckError reports, so that a verifier can list
// each check with its outcome.
const (
	// CheckStructure: the DER is not a well-formed version 4 or 5
	// structure, or a value cannot be encoded as one.
	CheckStructure = "structure"
	// CheckMakerSignature: the maker's signature over SES_SealInfo
	// (GB/T 38540 6.3).
	CheckMakerSignature = "maker-signature"
	// CheckSealValidity: the seal's validStart..validEnd window, inclusive,
	// at a given time (GB/T 38540 6.3, 7.2, 7.3).
	CheckSealValidity = "seal-validity"
	// CheckSignerCertificate: the signer certificate matches the signing key
	// and appears in the seal's certList (GB/T 38540 7.2, 7.3).
	CheckSignerCertificate = "signer-certificate"
	// CheckSignature: the signer's signature over TBS_Sign (GB/T 38540 7.3).
	CheckSignature = "signature"
	// CheckDocumentHash: dataHash against the SM3 of the document
	// (GB/T 38540 7.3).
	CheckDocumentHash = "document-hash"
)

// CheckError reports which check failed and why. Every error returned by
// the parse, marshal and check functions of this package is a *CheckError
// (use errors.As); MakeSeal and Sign report invalid arguments as
// "structure" errors and return errors of the keys.Signer itself (a
// cancelled context, a token failure) unwrapped from any check. Err wraps
// one of the sentinel errors below or keys.ErrBadSignature.
type CheckError struct {
	// Check is one of the Check* constants.
	Check string
	// Err is the reason.
	Err error
}

// Error returns "ses: <check>: <reason>".
func (e *CheckError) Error() string { return "ses: " + e.Check + ": " + e.Err.Error() }

// Unwrap returns the reason.
func (e *CheckError) Unwrap() error { return e.Err }

// fail wraps err as a failure of check.
func fail(check string, err error) error { return &CheckError{Check: check, Err: err} }

// ErrMalformed is wrapped when DER input is not a well-formed version 4 or
// 5 structure or a value cannot be encoded: the input must be rejected.
var ErrMalformed = errors.New("malformed GB/T 38540 data")

// ErrUnsupportedAlgorithm is wrapped when a signature algorithm other than
// SM2 with SM3 is used or requested: GB/T 38540 mandates SM2/SM3.
var ErrUnsupportedAlgorithm = errors.New("unsupported signature algorithm (GB/T 38540 requires SM2 with SM3)")

// ErrInvalidArgument is wrapped when MakeSeal or Sign is called with values
// that would make a non-conforming seal or signature.
var ErrInvalidArgument = errors.New("invalid argument")

// ErrHashMismatch is wrapped when dataHash differs from the document's SM3.
var ErrHashMismatch = errors.New("document hash does not match dataHash")

// ErrOutsideValidity is wrapped when a time lies outside the seal's
// validity window.
var ErrOutsideValidity = errors.New("outside the seal's validity period")

// ErrCertificate is wrapped when an embedded certificate cannot be used:
// it does not parse, does not match the signing key or is not listed in the
// seal.
var ErrCertificate = errors.New("certificate unusable")

// Header is SES_Header (GB/T 38540 6.1).
type Header struct {
	// ID is "ES" (HeaderID).
	ID string
	// Version is the structure version, Version4 or Version5; parsing
	// rejects any other.
	Version int64
	// VendorID is vid, the identifier of the seal system's vendor (IA5).
	VendorID string
}

// SealInfo is SES_SealInfo (GB/T 38540 6.1), the part of a seal that the
// maker signs.
type SealInfo struct {
	// Header identifies the structure and its version.
	Header Header
	// ID is esID, the seal identifier (IA5).
	ID string
	// Property is SES_ESPropertyInfo.
	Property PropertyInfo
	// Picture is SES_ESPictrueInfo, the seal image.
	Picture Picture
	// Extensions is extDatas: nil when absent; a non-nil empty slice is an
	// encoded empty SEQUENCE.
	Extensions []ExtData
}

// PropertyInfo is SES_ESPropertyInfo (GB/T 38540 6.1).
type PropertyInfo struct {
	// Type is the seal type, as defined by the issuing system.
	Type int64
	// Name is the seal name (UTF-8).
	Name string
	// CertListType selects the SES_CertList alternative: CertListCerts
	// (Certs is used) or CertListDigests (CertDigests is used). The other
	// list must be empty.
	CertListType int64
	// Certs holds the DER certificates of the signers allowed to use the
	// seal when CertListType is CertListCerts. An empty list parses as nil.
	Certs [][]byte
	// CertDigests holds digests of those certificates when CertListType is
	// CertListDigests. An empty list parses as nil.
	CertDigests []CertDigest
	// Created is createDate.
	Created time.Time
	// ValidFrom and ValidTo are validStart and validEnd; the seal is valid
	// from ValidFrom to ValidTo, both inclusive.
	ValidFrom, ValidTo time.Time
}

// CertDigest is CertDigestObj (GB/T 38540 6.1).
type CertDigest struct {
	// Type names the digest algorithm (PrintableString, for example "SM3").
	Type string
	// Value is the digest of the certificate DER.
	Value []byte
}

// Picture is SES_ESPictrueInfo (GB/T 38540 6.1).
type Picture struct {
	// Type is the image format (IA5), for example "PNG", "GIF", "SVG" or
	// "OFD".
	Type string
	// Data is the image file.
	Data []byte
	// Width and Height are the display size in millimetres.
	Width, Height int64
}

// ExtData is one entry of ExtensionDatas (GB/T 38540 6.1).
type ExtData struct {
	// ID is extnID.
	ID asn1.ObjectIdentifier
	// Critical is critical (DEFAULT FALSE).
	Critical bool
	// ExplicitFalse records that critical was encoded as an explicit FALSE
	// rather than omitted, as some producers write it; it is ignored when
	// Critical is true. It exists so parsed data re-encodes byte for byte.
	ExplicitFalse bool
	// Value is extnValue.
	Value []byte
}

// Seal is SESeal (GB/T 38540 6.1): an electronic seal.
type Seal struct {
	// Info is eSealInfo, the signed seal content.
	Info SealInfo
	// MakerCert is cert, the DER certificate of the maker (制章者).
	MakerCert []byte
	// Algorithm is signAlgID; OIDSM2WithSM3 for conforming seals.
	Algorithm asn1.ObjectIdentifier
	// SignedValue is signedValue, the maker's DER SM2 signature over the
	// DER of Info.
	SignedValue []byte
	// TimeStamp is timeStamp, a version 5 field: a time-stamp token
	// (RFC 3161, GB/T 20520) over SignedValue, or nil when absent. It must
	// be nil in a version 4 seal (Marshal fails otherwise). This package
	// carries it byte for byte but does not check it, not even that it is
	// a TimeStampToken.
	TimeStamp []byte

	// Raw is the complete DER of the SESeal as parsed or made; Marshal
	// ignores it. RawInfo is the DER of its SES_SealInfo, the bytes the maker
	// signed. Both are nil for a Seal built by hand.
	Raw, RawInfo []byte
}

// TBSSign is TBS_Sign (GB/T 38540 7.1), the part of a signature that the
// signer signs.
type TBSSign struct {
	// Version is the structure version; it must equal the seal's
	// Header.Version (4 or 5), and parsing rejects a signature where it
	// does not.
	Version int64
	// Seal is eseal, the seal used.
	Seal Seal
	// Time is timeInfo, the signing time.
	Time time.Time
	// DataHash is dataHash, the SM3 of the signed document (for OFD, of
	// Signature.xml).
	DataHash []byte
	// PropertyInfo is propertyInfo (IA5), for example the path of the OFD
	// Signature.xml.
	PropertyInfo string
	// Extensions is extDatas: nil when absent; a non-nil empty slice is an
	// encoded empty SEQUENCE.
	Extensions []ExtData

	// Raw is the DER of the TBS_Sign as parsed or made, the bytes the signer
	// signed; Marshal ignores it.
	Raw []byte
}

// Signature is SES_Signature (GB/T 38540 7.1): an electronic seal
// signature (电子签章) over a document.
type Signature struct {
	// TBS is toSign.
	TBS TBSSign
	// SignerCert is cert, the DER certificate of the signer.
	SignerCert []byte
	// Algorithm is signatureAlgID; OIDSM2WithSM3 for conforming signatures.
	Algorithm asn1.ObjectIdentifier
	// Value is signature, the signer's DER SM2 signature over the DER of TBS.
	Value []byte
	// TimeStamp is timeStamp, a time-stamp token over Value (GB/T 20520),
	// or nil when absent. This package carries it but does not check it.
	TimeStamp []byte

	// Raw is the complete DER of the SES_Signature as parsed or made;
	// Marshal ignores it.
	Raw []byte
}
