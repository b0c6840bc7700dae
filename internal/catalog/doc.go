// Package catalog keeps the license catalog (证照目录): the license types
// an issuer may issue, each with a versioned template of the face fields it
// collects (R-CAT-1, R-CAT-2), and the rules that face data is checked
// against before anything is issued (R-ISS-2).
//
// A type's template changes only by a new version, and a version is used
// only once the platform operator has approved it (R-CAT-3); an approved
// version never changes, so a license keeps the exact template it was
// issued under. Face data names only the fields of its template: anything
// else is refused, not ignored (R-CAT-4, no over-collection).
//
// The package is domain code: it declares what a type, a version and a
// template are and how they are checked, and holds no state. Every
// validation failure is an *apperr.Error of kind Invalid carrying one
// FieldError per broken rule, all of them at once, with the rule as a stable
// name that doubles as the translation key (internal/i18n/locales).
package catalog
