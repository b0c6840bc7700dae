package ses

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/ca"
)

// Sign stamps a document with seal as GB/T 38540 7.2 describes and returns
// the SES_Signature and its DER. docHash is the SM3 of the document (for
// OFD, of Signature.xml; see CheckDocument), signTime the signing time
// (stored in UTC, truncated to whole seconds), propertyInfo the IA5
// description of what is signed, signerCertDER the signer's certificate.
//
// Before signing, Sign MUST and does check the seal (VerifyMaker), that
// signTime lies within the seal's validity (CheckValidity), that
// signerCertDER certifies signer's key and that it is listed in the seal
// (certListType 1, or an SM3 digest for certListType 2); a failure is
// returned as that check's *CheckError and nothing is signed. signer MUST be
// an SM2 key (ErrUnsupportedAlgorithm otherwise) and docHash MUST be 32
// bytes (ErrInvalidArgument). The signature has the seal's version:
// TBS_Sign.version is the seal's Header.Version, as GM/T 0031-2025 requires,
// so a version 4 seal gives a version 4 signature and a version 5 seal a
// version 5 one; a seal of any other version is an ErrInvalidArgument.
func Sign(ctx context.Context, seal *Seal, docHash []byte, signTime time.Time, propertyInfo string, signerCertDER []byte, signer keys.Signer) (*Signature, []byte, error) {
	st, err := NewStamper(seal, signTime, signerCertDER, signer)
	if err != nil {
		return nil, nil, err
	}
	return st.Sign(ctx, docHash, propertyInfo)
}

// Stamper makes the signatures of Sign for many documents with one seal,
// signer and signing time, checking the seal, the signing time and the
// signer's certificate once (NewStamper) rather than for each document:
// each signature is exactly what Sign makes. A Stamper is safe for
// concurrent use when its signer is.
type Stamper struct {
	seal     *Seal
	signTime time.Time
	certDER  []byte
	signer   keys.Signer
	// sealDER is the seal's DER, which every TBS_Sign embeds as it is:
	// encoded once rather than twice a signature.
	sealDER []byte
}

// NewStamper makes the checks Sign makes before it signs, returning their
// failure as Sign does.
func NewStamper(seal *Seal, signTime time.Time, signerCertDER []byte, signer keys.Signer) (*Stamper, error) {
	bad := func(format string, args ...any) error {
		return fail(CheckStructure, fmt.Errorf("sign: %w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...)))
	}
	switch {
	case signer == nil:
		return nil, bad("nil signer")
	case signer.Algorithm() != keys.SM2SM3:
		return nil, fail(CheckStructure, fmt.Errorf("sign: %w: signer key is %s", ErrUnsupportedAlgorithm, signer.Algorithm()))
	case seal == nil:
		return nil, bad("nil seal")
	case signTime.IsZero():
		return nil, bad("zero signing time")
	case !supportedVersion(seal.Info.Header.Version):
		return nil, bad("seal version %d, want %d or %d", seal.Info.Header.Version, Version4, Version5)
	}
	signTime = signTime.Truncate(time.Second).UTC()
	if err := seal.VerifyMaker(); err != nil {
		return nil, err
	}
	if err := seal.CheckValidity(signTime); err != nil {
		return nil, err
	}
	if err := certifiesKey(signerCertDER, signer.Public()); err != nil {
		return nil, fail(CheckSignerCertificate, err)
	}
	if err := listed(&seal.Info.Property, signerCertDER); err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	buildSeal(&b, seal)
	sealDER, err := b.Bytes()
	if err != nil {
		return nil, fail(CheckStructure, fmt.Errorf("marshal SES_Seal: %w", err))
	}
	return &Stamper{seal: seal, signTime: signTime, certDER: signerCertDER, signer: signer, sealDER: sealDER}, nil
}

// Sign stamps the document whose SM3 is docHash, as Sign does.
func (st *Stamper) Sign(ctx context.Context, docHash []byte, propertyInfo string) (*Signature, []byte, error) {
	if len(docHash) != HashSize {
		return nil, nil, fail(CheckStructure, fmt.Errorf("sign: %w: document hash is %d bytes, want %d (SM3)", ErrInvalidArgument, len(docHash), HashSize))
	}
	s := &Signature{
		TBS: TBSSign{
			Version:      st.seal.Info.Header.Version,
			Seal:         *st.seal,
			Time:         st.signTime,
			DataHash:     bytes.Clone(docHash),
			PropertyInfo: propertyInfo,
		},
		SignerCert: bytes.Clone(st.certDER),
		Algorithm:  append(OIDSM2WithSM3[:0:0], OIDSM2WithSM3...),
	}
	// The encodings of TBSSign.Marshal and Signature.Marshal (buildTBS),
	// with the seal's DER encoded once (TestStamperEncodes).
	var tb cryptobyte.Builder
	tb.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(s.TBS.Version)
		b.AddBytes(st.sealDER)
		addTime(b, "timeInfo", s.TBS.Time)
		addBits(b, s.TBS.DataHash)
		addIA5(b, "propertyInfo", s.TBS.PropertyInfo)
	})
	tbs, err := tb.Bytes()
	if err != nil {
		return nil, nil, fail(CheckStructure, fmt.Errorf("marshal TBS_Sign: %w", err))
	}
	if s.Value, err = st.signer.Sign(ctx, tbs); err != nil {
		return nil, nil, fmt.Errorf("sign: %w", err)
	}
	s.TBS.Raw = tbs
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddASN1OctetString(s.SignerCert)
		addOID(b, "signatureAlgID", s.Algorithm)
		addBits(b, s.Value)
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, nil, fail(CheckStructure, fmt.Errorf("marshal SES_Signature: %w", err))
	}
	s.Raw = der
	return s, der, nil
}

// listed checks that certDER is in the seal's certList.
func listed(p *PropertyInfo, certDER []byte) error {
	switch p.CertListType {
	case CertListCerts:
		for _, c := range p.Certs {
			if bytes.Equal(c, certDER) {
				return nil
			}
		}
	case CertListDigests:
		sum := sm3.Sum(certDER)
		supported := false
		for _, d := range p.CertDigests {
			if strings.EqualFold(d.Type, "SM3") {
				supported = true
				if bytes.Equal(d.Value, sum[:]) {
					return nil
				}
			}
		}
		if !supported {
			return fail(CheckSignerCertificate, fmt.Errorf("%w: the seal lists certificate digests of no supported type (only SM3 is)", ErrCertificate))
		}
	}
	return fail(CheckSignerCertificate, fmt.Errorf("%w: the signer certificate is not listed in the seal", ErrCertificate))
}

// Marshal returns the DER of TBS_Sign for t, ignoring t.Raw and the Raw
// fields of its seal. For a TBSSign returned by ParseSignature it returns
// exactly the parsed bytes, which are what the signer signed.
func (t *TBSSign) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	buildTBS(&b, t)
	der, err := b.Bytes()
	if err != nil {
		return nil, fail(CheckStructure, fmt.Errorf("marshal TBS_Sign: %w", err))
	}
	return der, nil
}

// Marshal returns the DER of SES_Signature for s, ignoring the Raw fields.
// For a Signature returned by ParseSignature it returns exactly the parsed
// bytes.
func (s *Signature) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		buildTBS(b, &s.TBS)
		b.AddASN1OctetString(s.SignerCert)
		addOID(b, "signatureAlgID", s.Algorithm)
		addBits(b, s.Value)
		addTimeStamp(b, s.TimeStamp)
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, fail(CheckStructure, fmt.Errorf("marshal SES_Signature: %w", err))
	}
	return der, nil
}

func buildTBS(b *cryptobyte.Builder, t *TBSSign) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(t.Version)
		buildSeal(b, &t.Seal)
		addTime(b, "timeInfo", t.Time)
		addBits(b, t.DataHash)
		addIA5(b, "propertyInfo", t.PropertyInfo)
		if t.Extensions != nil {
			b.AddASN1(tag0, func(b *cryptobyte.Builder) { addExtensions(b, t.Extensions) })
		}
	})
}

// ParseSignature parses the DER of an SES_Signature (for example an OFD
// SignedValue.dat). The input must be exactly one version 4 or version 5
// signature in DER, whose TBS_Sign.version equals its seal's version (see
// the package comment for the two tolerated deviations); anything else
// gives a *CheckError with Check "structure" wrapping ErrMalformed.
// ParseSignature verifies nothing: call VerifySignature, CheckDocument and
// the seal's checks. The returned Signature does not alias der.
func ParseSignature(der []byte) (*Signature, error) {
	in := cryptobyte.String(bytes.Clone(der))
	s, err := parseSignature(&in)
	if err == nil && !in.Empty() {
		err = malformed("SES_Signature", "%d trailing bytes", len(in))
	}
	if err != nil {
		return nil, fail(CheckStructure, err)
	}
	return s, nil
}

func parseSignature(in *cryptobyte.String) (*Signature, error) {
	var raw, seq cryptobyte.String
	if !in.ReadASN1Element(&raw, cbasn1.SEQUENCE) {
		return nil, malformed("SES_Signature", "want SEQUENCE")
	}
	body := raw
	if !body.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return nil, malformed("SES_Signature", "want SEQUENCE")
	}
	s := &Signature{Raw: raw}
	if err := parseTBS(&seq, &s.TBS); err != nil {
		return nil, err
	}
	var err error
	if s.SignerCert, err = readOctets(&seq, "cert"); err != nil {
		return nil, err
	}
	if s.Algorithm, err = readOID(&seq, "signatureAlgID"); err != nil {
		return nil, err
	}
	if s.Value, err = readBits(&seq, "signature"); err != nil {
		return nil, err
	}
	if s.TimeStamp, err = readTimeStamp(&seq, "timeStamp"); err != nil {
		return nil, err
	}
	if !seq.Empty() {
		return nil, malformed("SES_Signature", "trailing fields")
	}
	return s, nil
}

func parseTBS(in *cryptobyte.String, t *TBSSign) error {
	var raw, seq cryptobyte.String
	if !in.ReadASN1Element(&raw, cbasn1.SEQUENCE) {
		return malformed("toSign", "want SEQUENCE")
	}
	t.Raw = raw
	body := raw
	if !body.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return malformed("toSign", "want SEQUENCE")
	}
	var err error
	if t.Version, err = readInt(&seq, "toSign.version"); err != nil {
		return err
	}
	if !supportedVersion(t.Version) {
		return malformed("toSign.version", "%d; only versions %d (GB/T 38540-2020) and %d (GM/T 0031-2025) are supported",
			t.Version, Version4, Version5)
	}
	seal, err := parseSeal(&seq, "toSign.eseal")
	if err != nil {
		return err
	}
	// GM/T 0031-2025 requires the two versions to agree; a mixed
	// signature would let a verifier apply the rules of the wrong version.
	if v := seal.Info.Header.Version; t.Version != v {
		return malformed("toSign.version", "%d, but the seal is version %d; they must be equal", t.Version, v)
	}
	t.Seal = *seal
	if t.Time, err = readTime(&seq, "toSign.timeInfo"); err != nil {
		return err
	}
	if t.DataHash, err = readBits(&seq, "toSign.dataHash"); err != nil {
		return err
	}
	if t.PropertyInfo, err = readString(&seq, cbasn1.IA5String, "toSign.propertyInfo"); err != nil {
		return err
	}
	var ext cryptobyte.String
	var present bool
	if !seq.ReadOptionalASN1(&ext, &present, tag0) {
		return malformed("toSign.extDatas", "bad [0] element")
	}
	if present {
		if t.Extensions, err = readExtensions(&ext, "toSign.extDatas"); err != nil {
			return err
		}
		if !ext.Empty() {
			return malformed("toSign.extDatas", "trailing bytes in [0]")
		}
	}
	if !seq.Empty() {
		return malformed("toSign", "trailing fields")
	}
	return nil
}

// VerifySignature checks the signer's signature as GB/T 38540 7.3
// requires: the algorithm MUST be SM2 with SM3 and the key of the embedded
// signer certificate MUST verify Value over the DER of TBS (SM3 with the
// default user ID). It verifies the encoding of the current TBS, which for
// a parsed signature is exactly TBS.Raw, so a signature modified after
// parsing fails. Failures are a *CheckError with Check "signature". It does
// not check the seal (use TBS.Seal.VerifyMaker and CheckValidity), the
// document (CheckDocument) or the certificate chain (keys/ca).
func (s *Signature) VerifySignature() error {
	if !s.Algorithm.Equal(OIDSM2WithSM3) {
		return fail(CheckSignature, fmt.Errorf("%w: signatureAlgID %v", ErrUnsupportedAlgorithm, s.Algorithm))
	}
	der, err := s.TBS.Marshal()
	if err != nil {
		return err
	}
	cert, err := ca.ParseDER(s.SignerCert)
	if err != nil {
		return fail(CheckSignature, fmt.Errorf("%w: signer certificate: %v", ErrCertificate, err))
	}
	if err := keys.Verify(keys.SM2SM3, cert.PublicKey, der, s.Value); err != nil {
		return fail(CheckSignature, err)
	}
	return nil
}

// CheckSignerCertificate checks that the signer certificate is listed in
// the seal's certList (the certificate itself for certListType 1, its SM3
// digest for certListType 2), as GB/T 38540 7.3 requires. Failures are a
// *CheckError with Check "signer-certificate" wrapping ErrCertificate.
func (s *Signature) CheckSignerCertificate() error {
	return listed(&s.TBS.Seal.Info.Property, s.SignerCert)
}

// CheckDocument checks that dataHash is the SM3 of doc, the signed
// document (for OFD, the bytes of Signature.xml). A mismatch is a
// *CheckError with Check "document-hash" wrapping ErrHashMismatch.
func (s *Signature) CheckDocument(doc []byte) error {
	sum := sm3.Sum(doc)
	return s.CheckDigest(sum[:])
}

// CheckDigest checks that dataHash equals hash, an SM3 digest the caller
// computed. A mismatch is a *CheckError with Check "document-hash" wrapping
// ErrHashMismatch.
func (s *Signature) CheckDigest(hash []byte) error {
	if len(hash) != HashSize || !bytes.Equal(hash, s.TBS.DataHash) {
		return fail(CheckDocumentHash, fmt.Errorf("%w (dataHash %d bytes, given %d)", ErrHashMismatch, len(s.TBS.DataHash), len(hash)))
	}
	return nil
}

// Verify runs every check of GB/T 38540 7.3 that needs no external trust
// anchor, in order, and returns one *CheckError per failed check (nil when
// all pass): the signature, the seal's maker signature, the seal's validity
// at the signing time, the signer certificate's listing in the seal and the
// document hash. Chain, validity and revocation of the two certificates are
// left to the caller; time stamps (the seal's and the signature's) are not
// checked at all.
func (s *Signature) Verify(doc []byte) []*CheckError {
	var out []*CheckError
	for _, err := range []error{
		s.VerifySignature(),
		s.TBS.Seal.VerifyMaker(),
		s.TBS.Seal.CheckValidity(s.TBS.Time),
		s.CheckSignerCertificate(),
		s.CheckDocument(doc),
	} {
		if ce, ok := err.(*CheckError); ok {
			out = append(out, ce)
		}
	}
	return out
}
