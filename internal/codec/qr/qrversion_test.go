package qr

import (
	"strings"
	"testing"
)

// dataCodewordsM is the number of data codewords of QR versions 1 to 40 at
// error correction level M (ISO/IEC 18004:2015, table 7).
var dataCodewordsM = [40]int{
	16, 28, 44, 64, 86, 108, 124, 154, 182, 216,
	254, 290, 334, 365, 415, 453, 507, 563, 627, 669,
	714, 782, 860, 914, 1000, 1062, 1128, 1193, 1267, 1373,
	1455, 1541, 1631, 1725, 1812, 1914, 1992, 2102, 2216, 2334,
}

// alphanumericCapacityM is how many characters one alphanumeric segment
// holds in version v at level M: a 4-bit mode indicator, a character count
// of 9, 11 or 13 bits by version, then 11 bits per pair and 6 for a last
// odd character.
func alphanumericCapacityM(v int) int {
	count := 9
	switch {
	case v >= 27:
		count = 13
	case v >= 10:
		count = 11
	}
	bits := dataCodewordsM[v-1]*8 - 4 - count
	n := bits / 11 * 2
	if bits%11 >= 6 {
		n++
	}
	return n
}

// qrVersionM returns the smallest QR version whose level M alphanumeric
// capacity holds n characters, or 0 if none does.
func qrVersionM(n int) int {
	for v := 1; v <= 40; v++ {
		if alphanumericCapacityM(v) >= n {
			return v
		}
	}
	return 0
}

// TestQRCapacity checks the computed capacities against the published
// alphanumeric ones of ISO/IEC 18004 table 7 at level M.
func TestQRCapacity(t *testing.T) {
	for v, want := range map[int]int{1: 20, 2: 38, 5: 122, 9: 262, 10: 311, 14: 528, 15: 600, 26: 1542, 27: 1637, 40: 3391} {
		if got := alphanumericCapacityM(v); got != want {
			t.Errorf("version %d: capacity %d, want %d", v, got, want)
		}
	}
	if qrVersionM(3392) != 0 || qrVersionM(20) != 1 || qrVersionM(21) != 2 {
		t.Error("qrVersionM boundaries")
	}
}

// TestPayloadSize reports the size of the worked example, a business
// license showing three face fields, and of one showing the ten fields of
// its face, with the QR version each needs at error correction M.
func TestPayloadSize(t *testing.T) {
	k := sm2Key(t)
	full := sampleClaims()
	for k, v := range map[string]any{
		"business_scope":         "一般项目：软件开发；信息技术咨询服务；数据处理服务。\n（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）",
		"domicile":               "福建省福州市鼓楼区五四路158号环球广场16层",
		"domicile_region":        "350102",
		"entity_type":            "有限责任公司（自然人独资）",
		"established_on":         "2021-06-18",
		"registered_capital":     "500.00",
		"registration_authority": "福州市鼓楼区市场监督管理局",
	} {
		full.Fields[k] = v
	}
	for _, tc := range []struct {
		name   string
		claims Claims
	}{{"three fields", sampleClaims()}, {"ten fields", full}} {
		payload := encode(t, tc.claims, k)
		if strings.Trim(payload, base45Alphabet) != "" {
			t.Fatalf("%s: payload leaves the QR alphanumeric set", tc.name)
		}
		cborLen := len(unwrap(t, payload))
		v := qrVersionM(len(payload))
		if v == 0 {
			t.Fatalf("%s: %d characters fit no QR version at level M", tc.name, len(payload))
		}
		t.Logf("%s: COSE_Sign1 %d bytes, payload %d characters, QR version %d-M", tc.name, cborLen, len(payload), v)
	}
}
