package license

import (
	"encoding/json"
	"testing"
	"time"
)

// The sample's parties: the issuer (a market regulation bureau) and the
// identifiers of its 42nd and 41st business licenses, made with
// ids.NewCreditCode and ids.NewLicenseID.
const (
	issuerCode = "11350102003603210T"
	sampleID   = "BL000111350102003603210T00000000425"
	otherID    = "BL000111350102003603210T00000000411"
)

var issued = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// sample is a valid business license, with the shipped type's sample face.
func sample() License {
	until := time.Date(2046, 11, 22, 16, 0, 0, 0, time.UTC)
	return License{
		Format:     Format,
		ID:         sampleID,
		Number:     "350102202600000042",
		Type:       Type{Code: "BL0001", Version: 1},
		Issuer:     Issuer{CreditCode: issuerCode, Name: "福州市鼓楼区市场监督管理局"},
		Holder:     Holder{Kind: HolderOrganization, Identifier: "91350100M000100Y43", Name: "福州闽江示例科技有限公司"},
		IssuedAt:   issued,
		ValidFrom:  issued,
		ValidUntil: &until,
		Face: json.RawMessage(`{"credit_code":"91350100M000100Y43","name":"福州闽江示例科技有限公司",` +
			`"entity_type":"有限责任公司（自然人独资）","legal_representative":"林晓峰",` +
			`"business_scope":"一般项目：软件开发；信息技术咨询服务；数据处理服务。\n（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）",` +
			`"registered_capital":"500.00","established_on":"2021-06-18",` +
			`"domicile":"福建省福州市鼓楼区五四路158号环球广场16层","domicile_region":"350102",` +
			`"registration_authority":"福州市鼓楼区市场监督管理局"}`),
		Status: []StatusEntry{
			{Purpose: PurposeRevocation, ListURL: "https://zz.example.gov.cn/status/11350102003603210T/revocation/1", Index: 41},
			{Purpose: PurposeSuspension, ListURL: "https://zz.example.gov.cn/status/11350102003603210T/suspension/1", Index: 41},
		},
		Version: 1,
	}
}

// encoded is the canonical document of l with a stand-in signature.
func encoded(t testing.TB, l License) []byte {
	t.Helper()
	b, err := Encode(Document{License: l, Signature: []byte{0x30, 0x03, 0x02, 0x01, 0x04}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
