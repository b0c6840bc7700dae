// Package present redeems holders' QR presentations online (R-USE-4,
// R-HOL-2): a using unit submits a payload (docs/qr-format.md), the
// platform checks it against its own presentation keys and the license's
// live state, accepts each payload once only, and records every use, its
// refusals included, in the audit log (docs/presentations.md).
package present
