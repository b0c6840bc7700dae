package ids

import "testing"

func BenchmarkValidateCreditCode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateCreditCode("91350100M000100Y43"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateCitizenID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateCitizenID("11010519491231002X"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateRegion(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateRegion("110105"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestValidPathDoesNotAllocate pins the zero-allocation property of the valid
// path, including normalization of already normalized input.
func TestValidPathDoesNotAllocate(t *testing.T) {
	for name, f := range map[string]func(){
		"ValidateCreditCode":  func() { _ = ValidateCreditCode("91350100M000100Y43") },
		"ValidateCitizenID":   func() { _ = ValidateCitizenID("11010519491231002X") },
		"ValidateRegion":      func() { _ = ValidateRegion("110105") },
		"NormalizeCreditCode": func() { _ = NormalizeCreditCode("91350100M000100Y43") },
		"NormalizeCitizenID":  func() { _ = NormalizeCitizenID("11010519491231002X") },
		"CreditCodeCheckChar": func() { _, _ = CreditCodeCheckChar("91350100M000100Y4") },
		"CitizenIDCheckChar":  func() { _, _ = CitizenIDCheckChar("11010519491231002") },
		"OrgCodeCheckChar":    func() { _, _ = OrgCodeCheckChar("M000100Y") },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
}
