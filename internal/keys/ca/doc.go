// Package ca is the platform's internal certificate authority: it makes the
// X.509 certificates that bind seal and issuer keys to their holders, issues
// certificate revocation lists, and validates certificate chains, including
// chains imported from an external CA.
//
// # Why
//
// Electronic seals (GB/T 38540) and licence issuers sign with keys certified
// by the platform. A platform root (SM2 by default) issues X.509 certificates
// for seals and issuers, and a seal is valid exactly while its certificate is
// (R-SEAL-3). Validity must therefore be exact and testable, so nothing in
// this package reads the wall clock or a global random source: a [CA] is
// given a [Clock] and an io.Reader, and [Verify] takes the instant to verify
// at. Certificates from an external CA may be imported ([ImportChain]) when
// they validate to a configured root.
//
// # Certificates and algorithms
//
// Certificates are *smx509.Certificate values from
// github.com/emmansun/gmsm/smx509 throughout. smx509 is a fork of
// crypto/x509 that adds SM2 keys and the SM2-with-SM3 signature algorithm
// (OID 1.2.156.10197.1.501) and otherwise behaves like crypto/x509, so one
// type covers all three algorithms of package keys: SM2 with SM3 (the
// default), ECDSA P-256 with SHA-256 and Ed25519. The signature algorithm of
// a certificate or CRL follows the CA key: an SM2 key signs with
// SM2-with-SM3 (Z_A computed with the default user ID "1234567812345678"),
// a P-256 key with ECDSA-with-SHA256 and an Ed25519 key with pure Ed25519.
// Certified public keys may use any of the three algorithms, independently
// of the CA's.
//
// Signing keys are crypto.Signer values: software keys come from
// (*keys.SoftwareKey).CryptoSigner, hardware (PKCS#11) keys will implement
// crypto.Signer themselves. An SM2 hardware signer must implement
// crypto.MessageSigner or accept a whole message with *sm2.SM2SignerOption,
// because smx509 asks for an SM2 signature over the to-be-signed bytes, not
// over a digest.
//
// # Time
//
// X.509 encodes times in whole seconds. To keep a certificate's validity
// exactly what the caller asked for, every time written into a certificate or
// CRL (NotBefore, NotAfter, ThisUpdate, NextUpdate, revocation times) must
// be a whole second; other values are rejected rather than silently rounded.
// Use t.Truncate(time.Second).
//
// A certificate is valid at instant t when NotBefore <= t <= NotAfter: both
// ends are inclusive, as in RFC 5280 section 4.1.2.5 and in
// smx509.Certificate.Verify. A certificate is still valid at NotAfter and
// expired one nanosecond later; it is not yet valid one nanosecond before
// NotBefore. A certificate listed in a CRL is revoked from its revocation
// time on (inclusive).
package ca
