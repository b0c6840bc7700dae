// Package ids validates and builds the identifiers on which the zhengzhao
// platform keys every licence and seal.
//
// The platform's identifier rules are:
//
//   - every organization (enterprise, public institution, social
//     organization, ...) is identified by its 18-character unified social
//     credit code, GB 32100-2015;
//   - every natural person is identified by the 18-character citizen
//     identification number, GB 11643-1999;
//   - every organization belongs to an administrative region identified by a
//     six-digit GB/T 2260 code, which is embedded in both identifiers;
//   - every license carries a 35-character platform-wide identifier (type
//     code, issuer credit code, sequence, check character; see
//     ParseLicenseID) and a number on its face that follows its type's
//     NumberingRule. docs/license-format.md describes both.
//
// Check characters are validated on every input: a code whose check
// character does not match is rejected, never silently corrected. The
// validators take the normalized form (see NormalizeCreditCode and
// NormalizeCitizenID) so that what is validated is exactly what is stored.
//
// Every validation failure is reported as an *Error whose Rule field is a
// stable, machine-readable name, so that callers can map it to a field error
// without parsing messages. The package has no mutable state, reads no clock,
// and its validators allocate nothing on the valid path.
package ids
