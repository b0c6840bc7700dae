// Package importer reads bulk files of existing licenses (存量证照电子化,
// SPEC R-ISS-3) and validates them row by row exactly as a single issuance
// would be validated, so that tens of millions of paper-era licenses can be
// checked before anything is signed or stored.
//
// It is the store-free part of the import: readers that stream CSV (UTF-8
// or GB18030), JSON Lines and XLSX files in bounded memory, the column
// mapping onto a license type's template, row validation through
// license.Check, and the report of rejected rows with masked values.
// Nothing here writes to the store; the caller hands each valid Record to
// whatever comes next.
package importer
