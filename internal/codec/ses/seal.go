package ses

import (
	"bytes"
	"context"
	"crypto"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/ca"
)

// MakeSeal makes an electronic seal as GB/T 38540 6.2 describes: it signs
// the DER of info with maker, whose certificate makerCertDER must certify
// maker's public key, and returns the seal and its DER.
//
// maker MUST be an SM2 key (keys.SM2SM3): the standard allows no other
// algorithm, and other keys give an error wrapping ErrUnsupportedAlgorithm.
// An empty Header.ID or a zero Header.Version is filled in with "ES" and
// Version (4); Header.Version 5 (Version5) makes a GM/T 0031-2025 seal,
// without a timeStamp; other values are errors. info MUST have a non-empty vendor ID, seal ID,
// name, picture type and picture data, a positive width and height, at least
// one signer certificate (or digest) matching CertListType, and non-zero
// times in whole seconds with ValidFrom not after ValidTo; times are stored
// in UTC. Invalid arguments give a *CheckError with Check "structure"
// wrapping ErrInvalidArgument.
func MakeSeal(ctx context.Context, info SealInfo, makerCertDER []byte, maker keys.Signer) (*Seal, []byte, error) {
	if maker == nil {
		return nil, nil, fail(CheckStructure, fmt.Errorf("make seal: %w: nil maker", ErrInvalidArgument))
	}
	if alg := maker.Algorithm(); alg != keys.SM2SM3 {
		return nil, nil, fail(CheckStructure, fmt.Errorf("make seal: %w: maker key is %s", ErrUnsupportedAlgorithm, alg))
	}
	if err := normalizeInfo(&info); err != nil {
		return nil, nil, fail(CheckStructure, fmt.Errorf("make seal: %w", err))
	}
	if err := certifiesKey(makerCertDER, maker.Public()); err != nil {
		return nil, nil, fail(CheckStructure, fmt.Errorf("make seal: maker certificate: %w", err))
	}
	infoDER, err := info.Marshal()
	if err != nil {
		return nil, nil, err
	}
	sig, err := maker.Sign(ctx, infoDER)
	if err != nil {
		return nil, nil, fmt.Errorf("make seal: %w", err)
	}
	s := &Seal{
		Info:        info,
		MakerCert:   bytes.Clone(makerCertDER),
		Algorithm:   append(OIDSM2WithSM3[:0:0], OIDSM2WithSM3...),
		SignedValue: sig,
		RawInfo:     infoDER,
	}
	der, err := s.Marshal()
	if err != nil {
		return nil, nil, err
	}
	s.Raw = der
	return s, der, nil
}

// normalizeInfo fills the fixed header fields, converts times to UTC and
// checks what MakeSeal requires.
func normalizeInfo(i *SealInfo) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))
	}
	if i.Header.ID == "" {
		i.Header.ID = HeaderID
	}
	if i.Header.Version == 0 {
		i.Header.Version = Version
	}
	switch {
	case i.Header.ID != HeaderID:
		return bad("header id %q, want %q", i.Header.ID, HeaderID)
	case !supportedVersion(i.Header.Version):
		return bad("header version %d, want %d or %d", i.Header.Version, Version4, Version5)
	case i.Header.VendorID == "":
		return bad("empty vendor ID")
	case i.ID == "":
		return bad("empty seal ID (esID)")
	case i.Property.Name == "":
		return bad("empty seal name")
	case i.Picture.Type == "" || len(i.Picture.Data) == 0:
		return bad("empty picture type or data")
	case i.Picture.Width <= 0 || i.Picture.Height <= 0:
		return bad("picture size %d×%d mm is not positive", i.Picture.Width, i.Picture.Height)
	}
	p := &i.Property
	switch p.CertListType {
	case CertListCerts:
		if len(p.Certs) == 0 || len(p.CertDigests) != 0 {
			return bad("certListType 1 needs signer certificates and no digests")
		}
		for n, c := range p.Certs {
			if _, err := ca.ParseDER(c); err != nil {
				return bad("signer certificate %d: %v", n, err)
			}
		}
	case CertListDigests:
		if len(p.CertDigests) == 0 || len(p.Certs) != 0 {
			return bad("certListType 2 needs certificate digests and no certificates")
		}
		for n, d := range p.CertDigests {
			if d.Type == "" || len(d.Value) == 0 {
				return bad("certificate digest %d has an empty type or value", n)
			}
		}
	default:
		return bad("certListType %d, want 1 or 2", p.CertListType)
	}
	for _, t := range []struct {
		name string
		t    *time.Time
	}{{"createDate", &p.Created}, {"validStart", &p.ValidFrom}, {"validEnd", &p.ValidTo}} {
		if t.t.IsZero() || t.t.Nanosecond() != 0 {
			return bad("%s %s is zero or not in whole seconds", t.name, t.t.Format(time.RFC3339Nano))
		}
		*t.t = t.t.UTC()
	}
	if p.ValidFrom.After(p.ValidTo) {
		return bad("validStart %s is after validEnd %s", p.ValidFrom.Format(time.RFC3339), p.ValidTo.Format(time.RFC3339))
	}
	return nil
}

// certifiesKey checks that certDER parses and holds pub.
func certifiesKey(certDER []byte, pub crypto.PublicKey) error {
	c, err := ca.ParseDER(certDER)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCertificate, err)
	}
	k, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !k.Equal(c.PublicKey) {
		return fmt.Errorf("%w: the certificate does not certify the signing key", ErrCertificate)
	}
	return nil
}

// Marshal returns the DER of SES_SealInfo for i. For a SealInfo returned by
// ParseSeal it returns exactly the parsed bytes. Values that cannot be
// encoded (non-ASCII IA5 text, an unknown CertListType, a CertListType
// whose list is not the one filled in, zero times) give a structure error.
func (i *SealInfo) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	buildSealInfo(&b, i)
	der, err := b.Bytes()
	if err != nil {
		return nil, fail(CheckStructure, fmt.Errorf("marshal seal info: %w", err))
	}
	return der, nil
}

// Marshal returns the DER of SESeal for s, ignoring s.Raw and s.RawInfo.
// For a Seal returned by ParseSeal it returns exactly the parsed bytes. A
// TimeStamp on a seal whose Header.Version is not 5 is a structure error.
func (s *Seal) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	buildSeal(&b, s)
	der, err := b.Bytes()
	if err != nil {
		return nil, fail(CheckStructure, fmt.Errorf("marshal seal: %w", err))
	}
	return der, nil
}

func buildSeal(b *cryptobyte.Builder, s *Seal) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		buildSealInfo(b, &s.Info)
		b.AddASN1OctetString(s.MakerCert)
		addOID(b, "signAlgID", s.Algorithm)
		addBits(b, s.SignedValue)
		if s.TimeStamp != nil && s.Info.Header.Version != Version5 {
			b.SetError(malformed("timeStamp", "a version %d seal has no timeStamp (a version 5 field)", s.Info.Header.Version))
			return
		}
		addTimeStamp(b, s.TimeStamp)
	})
}

func buildSealInfo(b *cryptobyte.Builder, i *SealInfo) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addIA5(b, "header.id", i.Header.ID)
			b.AddASN1Int64(i.Header.Version)
			addIA5(b, "header.vid", i.Header.VendorID)
		})
		addIA5(b, "esID", i.ID)
		p := &i.Property
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(p.Type)
			addUTF8(b, "property.name", p.Name)
			b.AddASN1Int64(p.CertListType)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				switch {
				case p.CertListType == CertListCerts && len(p.CertDigests) == 0:
					for _, c := range p.Certs {
						b.AddASN1OctetString(c)
					}
				case p.CertListType == CertListDigests && len(p.Certs) == 0:
					for n, d := range p.CertDigests {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							addPrintable(b, fmt.Sprintf("property.certList[%d].type", n), d.Type)
							b.AddASN1OctetString(d.Value)
						})
					}
				default:
					b.SetError(malformed("property.certList", "certListType %d with %d certificates and %d digests",
						p.CertListType, len(p.Certs), len(p.CertDigests)))
				}
			})
			addTime(b, "property.createDate", p.Created)
			addTime(b, "property.validStart", p.ValidFrom)
			addTime(b, "property.validEnd", p.ValidTo)
		})
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addIA5(b, "picture.type", i.Picture.Type)
			b.AddASN1OctetString(i.Picture.Data)
			b.AddASN1Int64(i.Picture.Width)
			b.AddASN1Int64(i.Picture.Height)
		})
		if i.Extensions != nil {
			addExtensions(b, i.Extensions)
		}
	})
}

// ParseSeal parses the DER of an SESeal (for example an .esl file). The
// input must be exactly one version 4 or version 5 seal in DER, with a
// timeStamp only in version 5 (see the package comment for the two
// tolerated deviations); anything else gives a *CheckError with Check
// "structure" wrapping ErrMalformed. ParseSeal does not verify the seal:
// call VerifyMaker and CheckValidity. The returned Seal does not alias der.
func ParseSeal(der []byte) (*Seal, error) {
	in := cryptobyte.String(bytes.Clone(der))
	s, err := parseSeal(&in, "SESeal")
	if err == nil && !in.Empty() {
		err = malformed("SESeal", "%d trailing bytes", len(in))
	}
	if err != nil {
		return nil, fail(CheckStructure, err)
	}
	return s, nil
}

func parseSeal(in *cryptobyte.String, field string) (*Seal, error) {
	var raw cryptobyte.String
	if !in.ReadASN1Element(&raw, cbasn1.SEQUENCE) {
		return nil, malformed(field, "want SEQUENCE")
	}
	body := raw
	var seq cryptobyte.String
	if !body.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return nil, malformed(field, "want SEQUENCE")
	}
	s := &Seal{Raw: raw}
	var rawInfo cryptobyte.String
	if !seq.ReadASN1Element(&rawInfo, cbasn1.SEQUENCE) {
		return nil, malformed(field+".eSealInfo", "want SEQUENCE")
	}
	s.RawInfo = rawInfo
	if err := parseSealInfo(rawInfo, &s.Info); err != nil {
		return nil, err
	}
	var err error
	if s.MakerCert, err = readOctets(&seq, field+".cert"); err != nil {
		return nil, err
	}
	if s.Algorithm, err = readOID(&seq, field+".signAlgID"); err != nil {
		return nil, err
	}
	if s.SignedValue, err = readBits(&seq, field+".signedValue"); err != nil {
		return nil, err
	}
	switch {
	case s.Info.Header.Version == Version5:
		if s.TimeStamp, err = readTimeStamp(&seq, field+".timeStamp"); err != nil {
			return nil, err
		}
	case seq.PeekASN1Tag(tag0):
		return nil, malformed(field+".timeStamp", "present in a version %d seal; only version 5 seals carry one", s.Info.Header.Version)
	}
	if !seq.Empty() {
		return nil, malformed(field, "trailing fields")
	}
	return s, nil
}

func parseSealInfo(raw cryptobyte.String, i *SealInfo) error {
	var seq, hdr, prop, pic cryptobyte.String
	if err := readSeq(&raw, &seq, "eSealInfo"); err != nil {
		return err
	}
	if err := readSeq(&seq, &hdr, "header"); err != nil {
		return err
	}
	var err error
	if i.Header.ID, err = readString(&hdr, cbasn1.IA5String, "header.id"); err != nil {
		return err
	}
	if i.Header.Version, err = readInt(&hdr, "header.version"); err != nil {
		return err
	}
	if i.Header.VendorID, err = readString(&hdr, cbasn1.IA5String, "header.vid"); err != nil {
		return err
	}
	if !hdr.Empty() {
		return malformed("header", "trailing fields")
	}
	if i.Header.ID != HeaderID {
		return malformed("header.id", "%q, want %q", i.Header.ID, HeaderID)
	}
	if !supportedVersion(i.Header.Version) {
		return malformed("header.version", "%d; only versions %d (GB/T 38540-2020) and %d (GM/T 0031-2025) are supported",
			i.Header.Version, Version4, Version5)
	}
	if i.ID, err = readString(&seq, cbasn1.IA5String, "esID"); err != nil {
		return err
	}
	if err := readSeq(&seq, &prop, "property"); err != nil {
		return err
	}
	if err := parseProperty(&prop, &i.Property); err != nil {
		return err
	}
	if err := readSeq(&seq, &pic, "picture"); err != nil {
		return err
	}
	if i.Picture.Type, err = readString(&pic, cbasn1.IA5String, "picture.type"); err != nil {
		return err
	}
	if i.Picture.Data, err = readOctets(&pic, "picture.data"); err != nil {
		return err
	}
	if i.Picture.Width, err = readInt(&pic, "picture.width"); err != nil {
		return err
	}
	if i.Picture.Height, err = readInt(&pic, "picture.height"); err != nil {
		return err
	}
	if !pic.Empty() {
		return malformed("picture", "trailing fields")
	}
	if !seq.Empty() {
		if i.Extensions, err = readExtensions(&seq, "extDatas"); err != nil {
			return err
		}
	}
	if !seq.Empty() {
		return malformed("eSealInfo", "trailing fields")
	}
	return nil
}

func parseProperty(prop *cryptobyte.String, p *PropertyInfo) error {
	var err error
	if p.Type, err = readInt(prop, "property.type"); err != nil {
		return err
	}
	if p.Name, err = readString(prop, cbasn1.UTF8String, "property.name"); err != nil {
		return err
	}
	if p.CertListType, err = readInt(prop, "property.certListType"); err != nil {
		return err
	}
	var list cryptobyte.String
	if err := readSeq(prop, &list, "property.certList"); err != nil {
		return err
	}
	switch p.CertListType {
	case CertListCerts:
		for n := 0; !list.Empty(); n++ {
			c, err := readOctets(&list, fmt.Sprintf("property.certList[%d]", n))
			if err != nil {
				return err
			}
			p.Certs = append(p.Certs, c)
		}
	case CertListDigests:
		for n := 0; !list.Empty(); n++ {
			f := fmt.Sprintf("property.certList[%d]", n)
			var obj cryptobyte.String
			if err := readSeq(&list, &obj, f); err != nil {
				return err
			}
			var d CertDigest
			if d.Type, err = readString(&obj, cbasn1.PrintableString, f+".type"); err != nil {
				return err
			}
			if d.Value, err = readOctets(&obj, f+".value"); err != nil {
				return err
			}
			if !obj.Empty() {
				return malformed(f, "trailing fields")
			}
			p.CertDigests = append(p.CertDigests, d)
		}
	default:
		return malformed("property.certListType", "%d, want 1 or 2", p.CertListType)
	}
	if p.Created, err = readTime(prop, "property.createDate"); err != nil {
		return err
	}
	if p.ValidFrom, err = readTime(prop, "property.validStart"); err != nil {
		return err
	}
	if p.ValidTo, err = readTime(prop, "property.validEnd"); err != nil {
		return err
	}
	if !prop.Empty() {
		return malformed("property", "trailing fields")
	}
	return nil
}

// VerifyMaker checks the maker's signature as GB/T 38540 6.3 requires: the
// algorithm MUST be SM2 with SM3, the embedded maker certificate MUST parse
// and its key MUST verify SignedValue over the DER of Info (SM3 with the
// default user ID). It verifies the encoding of the current Info, which for
// a parsed seal is exactly RawInfo, so a seal modified after parsing fails.
// Failures are a *CheckError with Check "maker-signature" (or "structure"
// when Info cannot be encoded). It does not check the maker certificate's
// chain, validity or revocation: use keys/ca for that.
func (s *Seal) VerifyMaker() error {
	if !s.Algorithm.Equal(OIDSM2WithSM3) {
		return fail(CheckMakerSignature, fmt.Errorf("%w: signAlgID %v", ErrUnsupportedAlgorithm, s.Algorithm))
	}
	der, err := s.Info.Marshal()
	if err != nil {
		return err
	}
	cert, err := ca.ParseDER(s.MakerCert)
	if err != nil {
		return fail(CheckMakerSignature, fmt.Errorf("%w: maker certificate: %v", ErrCertificate, err))
	}
	if err := keys.Verify(keys.SM2SM3, cert.PublicKey, der, s.SignedValue); err != nil {
		return fail(CheckMakerSignature, err)
	}
	return nil
}

// CheckValidity checks that at lies within the seal's validity period,
// validStart and validEnd both inclusive to the second (at is truncated to
// whole seconds). A time outside gives a *CheckError with Check
// "seal-validity" wrapping ErrOutsideValidity.
func (s *Seal) CheckValidity(at time.Time) error {
	t := at.Truncate(time.Second)
	p := &s.Info.Property
	if t.Before(p.ValidFrom) || t.After(p.ValidTo) {
		return fail(CheckSealValidity, fmt.Errorf("%w: %s is not within %s..%s", ErrOutsideValidity,
			at.UTC().Format(time.RFC3339), p.ValidFrom.Format(time.RFC3339), p.ValidTo.Format(time.RFC3339)))
	}
	return nil
}
