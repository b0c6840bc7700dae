package status

import (
	"encoding/json"
	"testing"
)

func TestEntries(t *testing.T) {
	slot := Slot{List: ListRef{Issuer: issuer, Purposes: RevocationAndSuspension, Number: 2}, Index: 94567}
	got, err := Entries("https://zz.example.gov.cn/", slot)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(got)
	list := "https://zz.example.gov.cn/status/v1/" + issuer + "/2/"
	want := `[{"id":"` + list + `revocation#94567","type":"BitstringStatusListEntry","statusPurpose":"revocation","statusListIndex":"94567","statusListCredential":"` + list + `revocation"},` +
		`{"id":"` + list + `suspension#94567","type":"BitstringStatusListEntry","statusPurpose":"suspension","statusListIndex":"94567","statusListCredential":"` + list + `suspension"}]`
	if string(raw) != want {
		t.Errorf("Entries = %s\nwant %s", raw, want)
	}
	for _, bad := range []struct {
		base string
		slot Slot
	}{
		{"https://zz.example.gov.cn", Slot{List: ListRef{Issuer: issuer, Purposes: "refresh", Number: 1}}},
		{"/relative", slot},
		{"https://zz.example.gov.cn", Slot{List: slot.List, Index: -1}},
	} {
		if _, err := Entries(bad.base, bad.slot); err == nil {
			t.Errorf("Entries(%q, %+v) succeeded", bad.base, bad.slot)
		}
	}
}
