// Package ses reads, writes, makes and checks electronic seals (电子印章) and
// electronic seal signatures (电子签章) in the national data format of
// GB/T 38540-2020 "信息安全技术 安全电子签章密码技术规范", whose structures
// are version 4 of those in GM/T 0031-2014, and version 5 of the same
// structures as GM/T 0031-2025 defines them (see "Version 5" below).
//
// It exists for requirement R-SEAL-6: seals made by the platform and the
// signatures stamped with them must be readable and verifiable by any
// conforming implementation (OFD readers, the national seal platforms), and
// seals and signatures made elsewhere must be checkable here. Only the data
// format and its cryptographic checks live here; certificate chains and
// revocation are checked by the caller with zhengzhao/internal/keys/ca.
//
// # Data format
//
// Clause numbers refer to GB/T 38540-2020: 6.1 (electronic seal data
// format), 6.2 and 6.3 (seal generation and verification), 7.1 (electronic
// seal signature data format), 7.2 and 7.3 (signature generation and
// verification). The standard's text was not available to this package's
// authors; the structures below were established from two independent
// implementations (ofdrw's org.ofdrw.gm.ses.v4 and the files of a third
// party, see testdata/SOURCE.md) and every field order, type and tag was
// confirmed by parsing and verifying those files. The definitions were
// later cross-checked with the ASN.1 reproduced in a published summary of
// GM/T 0031-2025, which keeps these structures (its version 5 adds a
// timeStamp to SESeal), and with three more independent implementations
// (C, Rust, JavaScript): all agree, including CertDigestObj.type as a
// PrintableString. The clause numbers above still await a check against
// the standard's own text. The names and spellings (SES_ESPictrueInfo) are
// the standard's.
//
//	-- 6.1
//	SESeal ::= SEQUENCE {
//	    eSealInfo     SES_SealInfo,
//	    cert          OCTET STRING,          -- maker (制章者) certificate, DER
//	    signAlgID     OBJECT IDENTIFIER,     -- 1.2.156.10197.1.501 SM2-with-SM3
//	    signedValue   BIT STRING,            -- maker's signature over DER(eSealInfo)
//	    timeStamp     [0] EXPLICIT BIT STRING OPTIONAL }  -- version 5 only
//
//	SES_SealInfo ::= SEQUENCE {
//	    header        SES_Header,
//	    esID          IA5String,             -- seal identifier
//	    property      SES_ESPropertyInfo,
//	    picture       SES_ESPictrueInfo,
//	    extDatas      ExtensionDatas OPTIONAL }   -- no tag
//
//	SES_Header ::= SEQUENCE {
//	    id            IA5String,             -- "ES"
//	    version       INTEGER,               -- 4, or 5 (GM/T 0031-2025)
//	    vid           IA5String }            -- vendor identifier
//
//	SES_ESPropertyInfo ::= SEQUENCE {
//	    type          INTEGER,               -- seal type
//	    name          UTF8String,            -- seal name
//	    certListType  INTEGER,               -- 1: certs, 2: certDigestList
//	    certList      SES_CertList,
//	    createDate    GeneralizedTime,
//	    validStart    GeneralizedTime,
//	    validEnd      GeneralizedTime }
//
//	SES_CertList ::= CHOICE {              -- selected by certListType, not by tag
//	    certs           CertInfoList,
//	    certDigestList  CertDigestList }
//	CertInfoList   ::= SEQUENCE OF OCTET STRING   -- signer (签章人) certificates, DER
//	CertDigestList ::= SEQUENCE OF CertDigestObj
//	CertDigestObj  ::= SEQUENCE {
//	    type          PrintableString,       -- digest algorithm name
//	    value         OCTET STRING }
//
//	SES_ESPictrueInfo ::= SEQUENCE {
//	    type          IA5String,             -- "PNG", "GIF", "JPG", "SVG", "OFD", ...
//	    data          OCTET STRING,
//	    width         INTEGER,               -- millimetres
//	    height        INTEGER }              -- millimetres
//
//	ExtensionDatas ::= SEQUENCE OF ExtData
//	ExtData ::= SEQUENCE {
//	    extnID        OBJECT IDENTIFIER,
//	    critical      BOOLEAN DEFAULT FALSE,
//	    extnValue     OCTET STRING }
//
//	-- 7.1
//	SES_Signature ::= SEQUENCE {
//	    toSign          TBS_Sign,
//	    cert            OCTET STRING,        -- signer certificate, DER
//	    signatureAlgID  OBJECT IDENTIFIER,   -- 1.2.156.10197.1.501
//	    signature       BIT STRING,          -- signer's signature over DER(toSign)
//	    timeStamp       [0] EXPLICIT BIT STRING OPTIONAL }  -- over signature
//
//	TBS_Sign ::= SEQUENCE {
//	    version       INTEGER,               -- 4 or 5, equal to the seal's
//	    eseal         SESeal,
//	    timeInfo      GeneralizedTime,
//	    dataHash      BIT STRING,            -- SM3 of the signed document
//	    propertyInfo  IA5String,             -- e.g. the OFD Signature.xml path
//	    extDatas      [0] EXPLICIT ExtensionDatas OPTIONAL }
//
// What is signed: the maker signs exactly the DER of SES_SealInfo (not
// SES_SealInfo followed by cert and signAlgID); the signer signs exactly the
// DER of TBS_Sign. Both use SM2 with SM3 and the default user ID
// "1234567812345678" (GB/T 35276), and the signature values are the DER
// SEQUENCE{r, s} carried octet-aligned in the BIT STRING. A third-party
// signature verifies only under that reading (testdata/SOURCE.md).
//
// # Version 5
//
// GM/T 0031-2025 keeps every structure above and changes three things:
// SES_Header.version and TBS_Sign.version are 5 (and must be equal); SESeal
// gains timeStamp, a DER TimeStampToken (RFC 3161, GB/T 20520) over
// signedValue; and a verifier judges the maker certificate at the seal's
// createDate rather than at the signing time, and checks that a seal's
// time stamp verifies and is not before createDate. This package was
// written from a published summary of GM/T 0031-2025, not its text, and
// from ofdrw's org.ofdrw.gm.ses.v5 and its two version 5 samples, which
// show the timeStamp tagged [0] EXPLICIT, like SES_Signature's, and the
// maker and the signer signing the same bytes as in version 4
// (testdata/SOURCE.md; ofdrw is one implementation, not the standard).
//
// What is implemented: both versions parse and re-encode byte for byte;
// Seal.TimeStamp carries the seal's time stamp (a timeStamp in a version 4
// seal is a structure error); a TBS_Sign whose version differs from its
// seal's is a structure error; MakeSeal makes version 4 unless asked for
// version 5 (never with a timeStamp), and Sign gives the signature its
// seal's version. The checks of this package are the same for both
// versions. What is not: time stamps — the seal's and the signature's, in
// either version — are carried but never verified, not even parsed as a
// TimeStampToken, so a timeStamp neither helps nor hurts a verdict; and
// the certificate checks (including the createDate rule) are the
// caller's, zhengzhao/verify applies it.
//
// # Encoding rules
//
// Parsing is strict DER with two recorded exceptions, so that any value
// this package accepts re-encodes to the same bytes (a verifier must check
// the bytes that were signed, and Marshal of a parsed value reproduces them):
//
//   - ExtData.critical written as an explicit FALSE, which DER forbids for a
//     DEFAULT but which deployed producers write; ExtData.ExplicitFalse
//     records it.
//   - GeneralizedTime with DER fractional seconds; values this package makes
//     are whole seconds in UTC ("YYYYMMDDHHMMSSZ").
//
// Versions other than 4 and 5, BIT STRINGs that are not octet-aligned,
// trailing bytes and unknown certListType values are errors. Corrupted
// input always gives an error (a *CheckError with Check "structure"),
// never a panic.
//
// The package is built on golang.org/x/crypto/cryptobyte rather than
// encoding/asn1 because encoding/asn1 cannot tell an omitted DEFAULT from an
// explicit one, does not select a CHOICE by a sibling INTEGER and re-encodes
// times and strings in its own way, so it could not guarantee the
// byte-identical round trip the signatures depend on.
package ses
