package catalog_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
)

func ExampleTemplate_ValidateFace() {
	tpl := catalog.Template{Fields: []catalog.Field{
		{Key: "name", Label: catalog.Label{ZH: "姓名", EN: "Name"}, Type: catalog.TypeString, Required: true, MaxLength: 50,
			Sensitivity: catalog.SensitivityPersonal, Masking: catalog.Masking{Rule: catalog.MaskKeepFirst, First: 1}},
		{Key: "citizen_id", Label: catalog.Label{ZH: "公民身份号码", EN: "Citizen ID number"}, Type: catalog.TypeString,
			Required: true, MaxLength: 18, Format: catalog.FormatCitizenID,
			Sensitivity: catalog.SensitivitySensitive, Masking: catalog.Masking{Rule: catalog.MaskKeepEnds, First: 3, Last: 4}},
	}}
	face, err := tpl.ValidateFace(json.RawMessage(`{"name": "张三丰", "citizen_id": "11010519491231002x"}`))
	fmt.Println(face, err)
	fmt.Println(tpl.MaskFace(face))

	_, err = tpl.ValidateFace(json.RawMessage(`{"citizen_id": "110105194912310021", "salary": 1}`))
	var e *apperr.Error
	if errors.As(err, &e) {
		for _, f := range e.Fields {
			fmt.Println(f.Field, f.Rule)
		}
	}
	// Output:
	// map[citizen_id:11010519491231002X name:张三丰] <nil>
	// map[citizen_id:110***********002X name:张**]
	// face.citizen_id check-character
	// face.salary unknown-field
	// face.name required
}
