package gen

import (
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/ids"
)

// TestIdentifiersAreValid: every credit code of a good row and every
// citizen ID the generator makes passes internal/ids; a check-character
// row's credit code does not.
func TestIdentifiersAreValid(t *testing.T) {
	g := New(Options{Seed: 1, BadFraction: 0.2})
	for i := range 5000 {
		row := g.Next()
		err := ids.ValidateCreditCode(row.Values[colCreditCode])
		if (err == nil) == (row.Bad == BadCheckChar) {
			t.Fatalf("row %d (%q): credit code %s: %v", i, row.Bad, row.Values[colCreditCode], err)
		}
		if row.Bad != BadColumns && len(row.Values) != len(Columns()) {
			t.Fatalf("row %d has %d cells", i, len(row.Values))
		}
		if id := g.CitizenID(); ids.ValidateCitizenID(id) != nil {
			t.Fatalf("citizen ID %s: %v", id, ids.ValidateCitizenID(id))
		}
	}
}

func TestDeterministic(t *testing.T) {
	a, b, c := New(Options{Seed: 7}), New(Options{Seed: 7}), New(Options{Seed: 8})
	same, differs := true, false
	for range 100 {
		x, y, z := a.Next().Values, b.Next().Values, c.Next().Values
		for i := range x {
			same = same && x[i] == y[i]
			differs = differs || x[i] != z[i]
		}
	}
	if !same || !differs {
		t.Errorf("same seed same rows %v, other seed other rows %v", same, differs)
	}
}
