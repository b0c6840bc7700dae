// Package vc exports a signed license document (internal/codec/license) as
// a W3C Verifiable Credential (Verifiable Credentials Data Model v2.0,
// R-INT-2), so that wallets and verifiers that speak VCs can hold and check
// the same license.
//
// The credential restates the signed license: every member of the license
// maps to one property (docs/vc.md has the table), its credentialStatus is
// the license's two BitstringStatusListEntry entries as the license names
// them, and relatedResource and evidence tie it to the GB/T 38540-signed
// document it was made from — the document's digests, and the SM3 digest
// the issuer's seal signed. The credential is secured with a Data Integrity
// proof made by the statuslist package's proof code (ecdsa-jcs-2019 or
// zhengzhao-sm2-jcs-2026), with a platform key: the platform answers for
// the export, the issuer's seal for the license.
//
// Like the other codecs it is pure: no state, no store, only codecs and
// cryptography below it, so that the public verify package may use it.
package vc
