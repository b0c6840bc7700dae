package httpapi_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// strs spells a domain list as the strings the API shows.
func strs[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

// enums collects every enum of the OpenAPI document, with where it stands.
func enums(v any, at string, out map[string][]string) {
	switch x := v.(type) {
	case map[string]any:
		if e, ok := x["enum"].([]any); ok {
			var vals []string
			for _, s := range e {
				if s, ok := s.(string); ok {
					vals = append(vals, s)
				}
			}
			out[at] = vals
		}
		for k, c := range x {
			enums(c, at+"/"+k, out)
		}
	case []any:
		for i, c := range x {
			enums(c, fmt.Sprintf("%s/%d", at, i), out)
		}
	}
}

// TestEnumsMirrorTheDomain ties the enums of the published contract to the
// domain lists they mirror: an enum most of whose values belong to one of
// these lists must be exactly that list, and every list appears. A role,
// seal kind or key purpose added to the domain and forgotten in a schema tag
// fails here instead of being refused by the API's validation.
func TestEnumsMirrorTheDomain(t *testing.T) {
	var doc any
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	found := map[string][]string{}
	enums(doc, "#", found)
	wireEnums(t, found)
	lists := map[string][]string{
		"authz.Roles":            strs(authz.Roles()),
		"org.Kinds":              strs(org.Kinds()),
		"seal.Kinds":             strs(seal.Kinds()),
		"seal.Actions":           strs(seal.Actions()),
		"keyring.Purposes":       strs(keyring.Purposes()),
		"keys.Algorithms":        strs(keys.Algorithms()),
		"catalog.HolderKinds":    strs(catalog.HolderKinds()),
		"catalog.Levels":         strs(catalog.Levels()),
		"catalog.Publicities":    strs(catalog.Publicities()),
		"catalog.ValidityKinds":  strs(catalog.ValidityKinds()),
		"catalog.FieldTypes":     strs(catalog.FieldTypes()),
		"catalog.Sensitivities":  strs(catalog.Sensitivities()),
		"catalog.MaskRules":      strs(catalog.MaskRules()),
		"license.MediaTypes":     license.MediaTypes(),
		"license.Operations":     strs(license.Operations()),
		"license.TransferStates": strs(license.TransferStates()),
		"license.GrantStates":    strs(license.GrantStates()),
		"license.ReissueStates":  strs(license.ReissueStates()),
		"use.GrantStates":        strs(use.GrantStates()),
		"license.LatenessKinds":  license.LatenessKinds(),
		"license.DiffKinds":      license.DiffKinds(),
	}
	// License states share three names with seal states, so they are
	// told by a name of their own.
	states, stateEnums := strs(license.States()), 0
	for at, vals := range found {
		if slices.Contains(vals, string(license.ReportedLost)) {
			stateEnums++
			if a, b := slices.Sorted(slices.Values(vals)), slices.Sorted(slices.Values(states)); !slices.Equal(a, b) {
				t.Errorf("%s: enum %v differs from license.States %v", at, vals, states)
			}
		}
	}
	if stateEnums == 0 {
		t.Errorf("no enum of the OpenAPI document mirrors license.States %v", states)
	}
	for name, list := range lists {
		mirrored := 0
		for at, vals := range found {
			in := 0
			for _, v := range vals {
				if slices.Contains(list, v) {
					in++
				}
			}
			if 2*in <= len(vals) {
				continue
			}
			mirrored++
			a, b := slices.Clone(vals), slices.Clone(list)
			slices.Sort(a)
			slices.Sort(b)
			if !slices.Equal(a, b) {
				t.Errorf("%s: enum %v mirrors %s but differs from it: %v", at, vals, name, list)
			}
		}
		if mirrored == 0 {
			t.Errorf("no enum of the OpenAPI document mirrors %s %v", name, list)
		}
	}
}

// wireTypes are the body types of package api, by name. The CLI prints some
// of them without the API serving them, so their enum tags are checked here
// as well as through the OpenAPI document.
var wireTypes = map[string]reflect.Type{
	"Account":                  reflect.TypeFor[api.Account](),
	"Attachment":               reflect.TypeFor[api.Attachment](),
	"AuditEntry":               reflect.TypeFor[api.AuditEntry](),
	"AuditProof":               reflect.TypeFor[api.AuditProof](),
	"Import":                   reflect.TypeFor[api.Import](),
	"ImportProblem":            reflect.TypeFor[api.ImportProblem](),
	"ImportReport":             reflect.TypeFor[api.ImportReport](),
	"AuditCosignature":         reflect.TypeFor[api.AuditCosignature](),
	"AuditTree":                reflect.TypeFor[api.AuditTree](),
	"Authorization":            reflect.TypeFor[api.Authorization](),
	"Certificate":              reflect.TypeFor[api.Certificate](),
	"DataKey":                  reflect.TypeFor[api.DataKey](),
	"DataKeyRotation":          reflect.TypeFor[api.DataKeyRotation](),
	"FaceLabels":               reflect.TypeFor[api.FaceLabels](),
	"FieldLabel":               reflect.TypeFor[api.FieldLabel](),
	"Holder":                   reflect.TypeFor[api.Holder](),
	"HolderAuditItem":          reflect.TypeFor[api.HolderAuditItem](),
	"HolderAuditPage":          reflect.TypeFor[api.HolderAuditPage](),
	"HolderDemoLogin":          reflect.TypeFor[api.HolderDemoLogin](),
	"HolderLoginOptions":       reflect.TypeFor[api.HolderLoginOptions](),
	"HolderNotice":             reflect.TypeFor[api.HolderNotice](),
	"HolderSession":            reflect.TypeFor[api.HolderSession](),
	"HolderSessionInfo":        reflect.TypeFor[api.HolderSessionInfo](),
	"Key":                      reflect.TypeFor[api.Key](),
	"Label":                    reflect.TypeFor[api.Label](),
	"License":                  reflect.TypeFor[api.License](),
	"LicenseMaterial":          reflect.TypeFor[api.LicenseMaterial](),
	"LicenseTransfer":          reflect.TypeFor[api.LicenseTransfer](),
	"LicenseTransition":        reflect.TypeFor[api.LicenseTransition](),
	"LicenseTransitionRequest": reflect.TypeFor[api.LicenseTransitionRequest](),
	"LicenseType":              reflect.TypeFor[api.LicenseType](),
	"LicenseTypeVersion":       reflect.TypeFor[api.LicenseTypeVersion](),
	"LossReport":               reflect.TypeFor[api.LossReport](),
	"Masking":                  reflect.TypeFor[api.Masking](),
	"Matter":                   reflect.TypeFor[api.Matter](),
	"MatterContent":            reflect.TypeFor[api.MatterContent](),
	"MatterNeed":               reflect.TypeFor[api.MatterNeed](),
	"MatterReview":             reflect.TypeFor[api.MatterReview](),
	"MatterVersion":            reflect.TypeFor[api.MatterVersion](),
	"Me":                       reflect.TypeFor[api.Me](),
	"NewAuthorization":         reflect.TypeFor[api.NewAuthorization](),
	"NewLicense":               reflect.TypeFor[api.NewLicense](),
	"NewLicenseTransfer":       reflect.TypeFor[api.NewLicenseTransfer](),
	"NewLicenseType":           reflect.TypeFor[api.NewLicenseType](),
	"NewMaterial":              reflect.TypeFor[api.NewMaterial](),
	"NewMatter":                reflect.TypeFor[api.NewMatter](),
	"NewPresentation":          reflect.TypeFor[api.NewPresentation](),
	"NewReissueRequest":        reflect.TypeFor[api.NewReissueRequest](),
	"NewTypeGrant":             reflect.TypeFor[api.NewTypeGrant](),
	"Org":                      reflect.TypeFor[api.Org](),
	"Page":                     reflect.TypeFor[api.Page[struct{}]](),
	"PendingAuditEntry":        reflect.TypeFor[api.PendingAuditEntry](),
	"Presentation":             reflect.TypeFor[api.Presentation](),
	"PublicKey":                reflect.TypeFor[api.PublicKey](),
	"RedeemPresentation":       reflect.TypeFor[api.RedeemPresentation](),
	"ReissueRefusal":           reflect.TypeFor[api.ReissueRefusal](),
	"ReissueRequest":           reflect.TypeFor[api.ReissueRequest](),
	"Responsible":              reflect.TypeFor[api.Responsible](),
	"Seal":                     reflect.TypeFor[api.Seal](),
	"SealApplication":          reflect.TypeFor[api.SealApplication](),
	"SealBinding":              reflect.TypeFor[api.SealBinding](),
	"SealEvent":                reflect.TypeFor[api.SealEvent](),
	"Template":                 reflect.TypeFor[api.Template](),
	"TemplateField":            reflect.TypeFor[api.TemplateField](),
	"Token":                    reflect.TypeFor[api.Token](),
	"TypeGrant":                reflect.TypeFor[api.TypeGrant](),
	"UnitMatter":               reflect.TypeFor[api.UnitMatter](),
	"UseQuery":                 reflect.TypeFor[api.UseQuery](),
	"UseRequest":               reflect.TypeFor[api.UseRequest](),
	"UseResult":                reflect.TypeFor[api.UseResult](),
	"CaseAttachment":           reflect.TypeFor[api.CaseAttachment](),
	"CaseRecord":               reflect.TypeFor[api.CaseRecord](),
	"UsageRow":                 reflect.TypeFor[api.UsageRow](),
	"UsageReport":              reflect.TypeFor[api.UsageReport](),
	"LatenessRow":              reflect.TypeFor[api.LatenessRow](),
	"LatenessReport":           reflect.TypeFor[api.LatenessReport](),
	"LicensePair":              reflect.TypeFor[api.LicensePair](),
	"NewReconciliation":        reflect.TypeFor[api.NewReconciliation](),
	"Tally":                    reflect.TypeFor[api.Tally](),
	"Difference":               reflect.TypeFor[api.Difference](),
	"Reconciliation":           reflect.TypeFor[api.Reconciliation](),
	"UsedField":                reflect.TypeFor[api.UsedField](),
	"UsedLicense":              reflect.TypeFor[api.UsedLicense](),
	"ValidityRule":             reflect.TypeFor[api.ValidityRule](),
	"VerifyLicense":            reflect.TypeFor[api.VerifyLicense](),
	"VersionEvent":             reflect.TypeFor[api.VersionEvent](),
	"Withdrawal":               reflect.TypeFor[api.Withdrawal](),
}

// wireEnums adds the enum tags of every struct type of package api to
// found; it fails when a struct type of the package is missing from
// wireTypes, so that a new body type is checked too.
func wireEnums(t *testing.T, found map[string][]string) {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("../../api/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files of package api: %v", err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, s := range g.Specs {
				if ts, ok := s.(*ast.TypeSpec); ok && ts.Name.IsExported() {
					if _, isStruct := ts.Type.(*ast.StructType); isStruct && wireTypes[ts.Name.Name] == nil {
						t.Errorf("api.%s is not in wireTypes: add it so that its enums are checked", ts.Name.Name)
					}
				}
			}
		}
	}
	for name, typ := range wireTypes {
		for i := range typ.NumField() {
			f := typ.Field(i)
			if e := f.Tag.Get("enum"); e != "" {
				found["api."+name+"."+f.Name] = strings.Split(e, ",")
			}
		}
	}
}
