// Package license issues e-licenses (R-ISS-1): it checks a request against
// the catalog and the holder's identifiers, records the license before its
// issuer's bound license-issuing seal signs it, and writes the license, its
// signed version, its status slot, the audit entry and the outbox event in
// one transaction, so that no signature exists that the store does not
// account for (docs/licenses.md).
package license
