package ids_test

import (
	"errors"
	"fmt"

	"github.com/zhengzhao/zhengzhao/internal/ids"
)

func ExampleValidateCreditCode() {
	code := ids.NormalizeCreditCode(" 91350100m000100y43 ")
	fmt.Println(code, ids.ValidateCreditCode(code))

	err := ids.ValidateCreditCode("91350100M000100Y4X")
	var e *ids.Error
	if errors.As(err, &e) {
		fmt.Println(e.Kind, e.Rule, e.Detail)
	}
	// Output:
	// 91350100M000100Y43 <nil>
	// credit-code check-character check character is 'X', want '3'
}

func ExampleValidateCitizenID() {
	id := ids.NormalizeCitizenID("11010519491231002x")
	fmt.Println(id, ids.ValidateCitizenID(id))
	fmt.Println(ids.ValidateCitizenID("110105190002290011"))
	// Output:
	// 11010519491231002X <nil>
	// invalid citizen-id (birth-date): birth date 19000229 is not a calendar date in or after 1850
}

func ExampleNewCreditCode() {
	code, err := ids.NewCreditCode('9', '1', "350100", "M000100Y")
	fmt.Println(code, err)
	// Output: 91350100M000100Y43 <nil>
}

func ExampleValidateRegion() {
	fmt.Println(ids.ValidateRegion("110105"))
	fmt.Println(ids.ValidateRegion("990000"))
	// Output:
	// <nil>
	// invalid region (region): "99" is not a GB/T 2260 province-level code
}

func ExampleNewLicenseID() {
	id, err := ids.NewLicenseID("BL0001", "91350100M000100Y43", 1)
	fmt.Println(id, err)
	parsed, err := ids.ParseLicenseID(id)
	fmt.Println(parsed.TypeCode, parsed.Issuer, parsed.Seq, err)
	fmt.Println(ids.ValidateLicenseID("BL000191350100M000100Y430000000001G"))
	// Output:
	// BL000191350100M000100Y430000000001F <nil>
	// BL0001 91350100M000100Y43 1 <nil>
	// invalid license-id (check-character): check character is 'G', want 'F'
}

func ExampleFormat() {
	rule := ids.NumberingRule("JY1{region}{seq:7}")
	number, err := ids.Format(rule, "350100", 2026, 123)
	fmt.Println(number, err)
	parts, err := rule.Parse(number)
	fmt.Println(parts.Region, parts.Seq, err)
	fmt.Println(rule.Scope("FP0001", "350100", 2026))
	// Output:
	// JY13501000000123 <nil>
	// 350100 123 <nil>
	// {FP0001 350100 0}
}
