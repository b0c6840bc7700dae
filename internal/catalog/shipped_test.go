package catalog_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/ids"
)

func TestShipped(t *testing.T) {
	defs, err := catalog.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, d := range defs {
		codes = append(codes, d.Type.Code)
		t.Run(d.Type.Code, func(t *testing.T) {
			if err := d.Type.Validate(); err != nil {
				t.Errorf("Type.Validate = %v", err)
			}
			if err := d.Template.Validate(); err != nil {
				t.Errorf("Template.Validate = %v", err)
			}
			face, err := d.Template.ValidateFace(d.Sample)
			if err != nil {
				t.Fatalf("ValidateFace(sample) = %v", err)
			}
			var sample map[string]any
			if err := json.Unmarshal(d.Sample, &sample); err != nil {
				t.Fatal(err)
			}
			if len(face) != len(sample) {
				t.Errorf("the face has %d fields, the sample %d", len(face), len(sample))
			}
			// A license of the type can be numbered and identified.
			issuer := "91350100M000100Y43"
			if len(d.Type.Issuers) > 0 {
				issuer = d.Type.Issuers[0]
			}
			if _, err := ids.NewLicenseID(d.Type.Code, issuer, 1); err != nil {
				t.Errorf("NewLicenseID: %v", err)
			}
			if _, err := ids.Format(d.Type.Numbering, "350102", 2026, 1); err != nil {
				t.Errorf("Format(%q): %v", d.Type.Numbering, err)
			}
			// Without each required field the sample is refused, naming it.
			for _, f := range d.Template.Fields {
				if !f.Required {
					continue
				}
				delete(sample, f.Key)
				b, _ := json.Marshal(sample)
				_, err := d.Template.ValidateFace(b)
				wantRules(t, err, "face."+f.Key+": required")
				sample[f.Key] = face[f.Key]
			}
		})
	}
	if want := []string{"BL0001", "FP0001", "PC0001"}; len(codes) != len(want) || codes[0] != want[0] || codes[1] != want[1] || codes[2] != want[2] {
		t.Errorf("shipped types %q, want %q", codes, want)
	}
}

func TestShippedFaceIsNormalizedAndMasked(t *testing.T) {
	d := shipped(t, "PC0001")
	face, err := d.Template.ValidateFace(d.Sample)
	if err != nil {
		t.Fatal(err)
	}
	if got := face["citizen_id"]; got != "11010519491231002X" {
		t.Errorf("citizen_id = %v, want the normalized 11010519491231002X", got)
	}
	if got := face["signed_off_years"]; got != int64(2) {
		t.Errorf("signed_off_years = %#v, want int64 2", got)
	}
	masked := d.Template.MaskFace(face)
	for k, want := range map[string]any{
		"name":              "王**",
		"sex":               "***",
		"birth_date":        "1949******",
		"citizen_id":        "110***********002X",
		"residence_address": "福建省福州市" + strings.Repeat("*", 25-6), // 25 characters, 6 kept
		"photo":             "***",
		"issuing_authority": "福州市公安局台江分局",
		"signed_off_years":  int64(2),
	} {
		if masked[k] != want {
			t.Errorf("masked %s = %#v, want %#v", k, masked[k], want)
		}
	}
}

func TestShippedTemplatesCatchBadFaces(t *testing.T) {
	d := shipped(t, "BL0001")
	_, err := d.Template.ValidateFace(json.RawMessage(`{
		"credit_code": "91350100M000100Y44",
		"name": "某",
		"entity_type": "外星公司",
		"legal_representative": "林\u202e晓峰",
		"business_scope": "软件开发",
		"registered_capital": "1e3",
		"established_on": "2021-02-30",
		"domicile": "福州",
		"domicile_region": "990000",
		"registration_authority": "福州市鼓楼区市场监督管理局",
		"shareholders": "张三"
	}`))
	wantRules(t, err,
		"face.credit_code: check-character",
		"face.name: min-length",
		"face.entity_type: enum",
		"face.legal_representative: bidi-control",
		"face.registered_capital: decimal",
		"face.established_on: date",
		"face.domicile_region: region",
		"face.shareholders: unknown-field",
	)
}
