package ses

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// addSeeds adds the golden and third-party files as fuzz seeds.
func addSeeds(f *testing.F, names ...string) {
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParseSeal checks that ParseSeal never panics and that whatever it
// accepts re-encodes to exactly its input and can be checked.
func FuzzParseSeal(f *testing.F) {
	addSeeds(f, "seal.esl", "thirdparty/ofdrw-UserV4.esl", "thirdparty/hebeigede-SESealData.der",
		"thirdparty/ofdrw-UserV5_ts.esl")
	f.Fuzz(func(t *testing.T, der []byte) {
		s, err := ParseSeal(der)
		if err != nil {
			if checkOf(err) != CheckStructure {
				t.Fatalf("error without the structure check: %v", err)
			}
			return
		}
		again, err := s.Marshal()
		if err != nil || !bytes.Equal(again, der) {
			t.Fatalf("accepted input does not re-encode (err %v)", err)
		}
		_ = s.VerifyMaker()
		_ = s.CheckValidity(t0)
	})
}

// FuzzParseSignature checks that ParseSignature never panics and that
// whatever it accepts re-encodes to exactly its input and can be checked.
func FuzzParseSignature(f *testing.F) {
	addSeeds(f, "signature.dat", "thirdparty/gomain-SignedValue.dat", "thirdparty/ofdrw-SignedValueV5.dat")
	f.Fuzz(func(t *testing.T, der []byte) {
		s, err := ParseSignature(der)
		if err != nil {
			if checkOf(err) != CheckStructure {
				t.Fatalf("error without the structure check: %v", err)
			}
			return
		}
		again, err := s.Marshal()
		if err != nil || !bytes.Equal(again, der) {
			t.Fatalf("accepted input does not re-encode (err %v)", err)
		}
		_ = s.Verify(der)
	})
}
