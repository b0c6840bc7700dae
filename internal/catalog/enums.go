package catalog

// The lists of the catalog's closed sets, in a stable order: what
// validation accepts, and what the API's schemas must list (the httpapi
// test TestEnumsMirrorTheDomain compares them).

// HolderKinds lists the holder kinds.
func HolderKinds() []HolderKind { return []HolderKind{HolderPerson, HolderOrganization} }

// Levels lists the standard levels, widest first.
func Levels() []Level { return []Level{LevelNational, LevelProvincial, LevelMunicipal, LevelCounty} }

// Publicities lists the public attributes.
func Publicities() []Publicity { return []Publicity{PublicOpen, PublicShared, PublicRestricted} }

// ValidityKinds lists the validity kinds.
func ValidityKinds() []ValidityKind {
	return []ValidityKind{ValidityFixed, ValidityOpenEnded, ValidityIssuerSet}
}

// FieldTypes lists the field types.
func FieldTypes() []FieldType { return fieldTypes() }

// Sensitivities lists the sensitivity classes.
func Sensitivities() []Sensitivity {
	return []Sensitivity{SensitivityPublic, SensitivityPersonal, SensitivitySensitive}
}

// MaskRules lists the masking rules.
func MaskRules() []MaskRule { return []MaskRule{MaskNone, MaskKeepEnds, MaskKeepFirst, MaskFull} }
