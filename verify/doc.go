// Package verify checks what the zhengzhao platform signs without the
// platform: a relying party imports zhengzhao/verify, loads a trust bundle
// the platform published, and verifies offline — no store, no network, no
// account (DESIGN.md §2 "Verify offline") — GB/T 38540 seal signatures
// (验章) and their GM/T 0031-2025 (version 5) successors (Seal), and signed
// license documents (License: the seal signature over the canonical
// license, the issuer's own license seal, the validity window, the status
// lists the bundle carries — no older than MaxStatusAge, 24 hours unless
// the caller says otherwise — the approved type version), and holders' QR
// payloads (Presentation: the presentation key the bundle lists, its
// signature, the one-minute window, the status lists). The platform runs
// the same code online, with its own records behind the Trust and
// LicenseTrust interfaces, so an online and an offline verdict never
// disagree about the same facts.
//
// It is deliberately dependency-light: the standard library, gmsm and the
// pure encoding packages of the module (the GB/T 38540 ASN.1, the signed
// license document, certificate chains, signature algorithms, RFC 8785
// canonical JSON). An architecture test keeps it that way.
//
// A trust bundle is plain JSON a CDN can serve. It is signed by the
// platform's internal root over the RFC 8785 canonical bytes of its content,
// so a changed byte is detected; a relying party should pin the root's
// SHA-256 fingerprint, published by the platform (`zhengzhao ca root`,
// GET /api/v1/ca/root), when it opens a bundle with OpenBundle.
package verify
