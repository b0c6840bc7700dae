package catalog_test

import "testing"

// BenchmarkValidateFace measures one shipped face, the unit of work of a
// bulk import row.
func BenchmarkValidateFace(b *testing.B) {
	for _, code := range []string{"BL0001", "FP0001", "PC0001"} {
		d := shipped(b, code)
		b.Run(code, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.Template.ValidateFace(d.Sample); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
