// Package statuslist reads, writes, signs and checks W3C Bitstring Status
// Lists (https://www.w3.org/TR/vc-bitstring-status-list/, v1.0): the
// public, cacheable lists that say whether a license has been revoked or
// suspended without saying which license anyone asked about.
//
// It exists for the offline and online verification of licenses (R-HOL-2,
// R-USE-4) and their export as W3C Verifiable Credentials (R-INT-2): a
// verifier fetches one signed list, which a CDN can serve, and reads one
// bit, so that status checks need neither the platform's database nor
// reveal to the platform who was checked. The allocation of indices and
// the rules mapping a license's lifecycle to bits live in internal/status;
// this package is the wire format only: pure functions, no state, fuzzed.
// docs/status-lists.md describes the whole design.
//
// # Bitstring
//
// A Bitstring is one bit per entry (statusSize 1 only: the platform needs
// revocation and suspension, each a yes or no, and publishes one list per
// purpose), entry 0 in the most significant bit of the first byte. Its
// encodedList is "u" followed by base64url without padding of the GZIP
// compression of the bits (§2.2, §3.3). Lists have between MinSize
// (131,072) and MaxSize (2^24) entries; Decode reads no more than MaxSize
// bits of decompressed data, whatever the input.
//
// # Credentials and entries
//
// A Credential is a BitstringStatusListCredential in the Verifiable
// Credentials Data Model v2.0 shape, with one statusPurpose (revocation or
// suspension); an Entry is the BitstringStatusListEntry a license carries
// in its credentialStatus. Check runs the Validate Algorithm of §3.2 on a
// verified credential.
//
// # Securing
//
// Credentials are secured with a Data Integrity proof (DataIntegrityProof,
// proofPurpose assertionMethod, one proof per document) in one of two
// cryptosuites, both built exactly as ecdsa-jcs-2019 of "Data Integrity
// ECDSA Cryptosuites v1.0" §3.3 (JCS canonical proof configuration and
// document, hash of each, the configuration's first, signature r||s in
// multibase base58btc):
//
//   - ecdsa-jcs-2019 with P-256 and SHA-256, conformant to the W3C
//     specification and tested against its published test vectors
//     (testdata/SOURCE.md);
//   - SuiteSM2JCS, "zhengzhao-sm2-jcs-2026", the same construction with
//     SM3 and SM2 (default user ID): a platform-specific suite, not a W3C
//     one, and the default because the platform's keys are SM2 by default.
//
// Proofs are made with a keys.Signer and verified from a public key; which
// key a verificationMethod names is the trust list's business, not this
// package's.
package statuslist
