package envelope

import "testing"

// TestADLength keeps adLen in step with appendAD: Seal and Open size their
// single allocation with it.
func TestADLength(t *testing.T) {
	for _, ad := range []AD{{}, {Table: "orgs", Row: "91350100M000100Y43", Column: "responsible_phone"}, {Table: "表", Row: "行", Column: "列"}} {
		for _, hdr := range [][]byte{{fieldVersion1, byte(SM4GCM)}, {fieldVersion2, byte(SM4GCM), 0, 0, 0, 7}} {
			b, err := appendAD(nil, hdr, ad)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != adLen(ad, len(hdr)) {
				t.Errorf("adLen(%+v, %d) = %d, encoding has %d bytes", ad, len(hdr), adLen(ad, len(hdr)), len(b))
			}
		}
	}
}
