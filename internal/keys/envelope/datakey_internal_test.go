package envelope

import "testing"

// TestADLength keeps adLen in step with appendAD: Seal and Open size their
// single allocation with it.
func TestADLength(t *testing.T) {
	for _, ad := range []AD{{}, {Table: "orgs", Row: "91350100M000100Y43", Column: "responsible_phone"}, {Table: "表", Row: "行", Column: "列"}} {
		b, err := appendAD(nil, []byte{fieldVersion, byte(SM4GCM)}, ad)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != adLen(ad) {
			t.Errorf("adLen(%+v) = %d, encoding has %d bytes", ad, adLen(ad), len(b))
		}
	}
}
