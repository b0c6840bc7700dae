// Package trust is what the platform trusts when it verifies a license,
// online and for others offline: it answers POST /api/v1/licenses/verify
// with verify.License over the platform's own records — the seal trust of
// package seal, the approved type versions of the catalog and the status
// bits as committed now — and composes the signed trust bundle a relying
// party verifies with, offline, the same way: the seal facts, every status
// list and the approved type versions, signed once by the platform root.
package trust
