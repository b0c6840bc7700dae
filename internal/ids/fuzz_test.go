package ids

import "testing"

// checkFuzzError asserts the shape of an error returned by a validator.
func checkFuzzError(t *testing.T, err error, kind string) {
	t.Helper()
	if err != nil {
		checkError(t, err, kind)
	}
}

func FuzzValidateCreditCode(f *testing.F) {
	for _, s := range knownCreditCodes {
		f.Add(s)
	}
	for _, c := range rejectedCreditCandidates {
		f.Add(c.code)
	}
	for _, s := range []string{
		"", " ", "91350100m000100y43", " 91350100M000100Y43 ", "91350100M000100Y4",
		"11100000000000000X", "９1350100M000100Y43", "\xff\xfe", "000000000000000000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateCreditCode(s)
		checkFuzzError(t, err, kindCreditCode)
		if err == nil {
			// A valid code is already in normalized form.
			if n := NormalizeCreditCode(s); n != s {
				t.Fatalf("NormalizeCreditCode(%q) = %q for a valid code", s, n)
			}
		}
		n := NormalizeCreditCode(s)
		if nn := NormalizeCreditCode(n); nn != n {
			t.Fatalf("NormalizeCreditCode is not idempotent: %q -> %q -> %q", s, n, nn)
		}
		errN := ValidateCreditCode(n)
		checkFuzzError(t, errN, kindCreditCode)
		if errN != nil {
			return
		}
		c, err := CreditCodeCheckChar(n[:17])
		if err != nil || c != n[17] {
			t.Fatalf("CreditCodeCheckChar(%q) = %q, %v, want %q", n[:17], c, err, n[17])
		}
		o, err := OrgCodeCheckChar(n[8:16])
		if err != nil || o != n[16] {
			t.Fatalf("OrgCodeCheckChar(%q) = %q, %v, want %q", n[8:16], o, err, n[16])
		}
		rebuilt, err := NewCreditCode(n[0], n[1], n[2:8], n[8:16])
		if err != nil || rebuilt != n {
			t.Fatalf("NewCreditCode from the parts of %q = %q, %v", n, rebuilt, err)
		}
	})
}

func FuzzValidateCitizenID(f *testing.F) {
	for _, s := range knownCitizenIDs {
		f.Add(s)
	}
	for _, s := range []string{
		"", " ", "11010519491231002x", " 11010519491231002X\n", "110105194912310021",
		"110105491231002", "110105190002290000", "１1010519491231002X", "\xff", "000000000000000000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateCitizenID(s)
		checkFuzzError(t, err, kindCitizenID)
		if err == nil {
			if n := NormalizeCitizenID(s); n != s {
				t.Fatalf("NormalizeCitizenID(%q) = %q for a valid number", s, n)
			}
		}
		n := NormalizeCitizenID(s)
		if nn := NormalizeCitizenID(n); nn != n {
			t.Fatalf("NormalizeCitizenID is not idempotent: %q -> %q -> %q", s, n, nn)
		}
		errN := ValidateCitizenID(n)
		checkFuzzError(t, errN, kindCitizenID)
		if errN != nil {
			return
		}
		c, err := CitizenIDCheckChar(n[:17])
		if err != nil || c != n[17] {
			t.Fatalf("CitizenIDCheckChar(%q) = %q, %v, want %q", n[:17], c, err, n[17])
		}
		if err := ValidateRegion(n[:6]); err != nil {
			t.Fatalf("ValidateRegion(%q) = %v for the address code of a valid number", n[:6], err)
		}
	})
}
