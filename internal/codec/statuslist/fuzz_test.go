package statuslist

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/canon"
)

// FuzzDecode checks that Decode never panics, refuses with one of its
// errors, and that what it accepts is a list within bounds that encodes
// and decodes to the same bits.
func FuzzDecode(f *testing.F) {
	f.Add(specExampleList)
	f.Add(gzipped(f, make([]byte, MinSize/8)))
	f.Add(gzipped(f, bytes.Repeat([]byte{0xa5}, MinSize/8+1)))
	f.Add("u")
	f.Add("")
	f.Fuzz(func(t *testing.T, encoded string) {
		b, err := Decode(encoded)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrListLength) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		if b.Len() < MinSize || b.Len() > MaxSize || b.Len()%8 != 0 {
			t.Fatalf("accepted a list of %d entries", b.Len())
		}
		again, err := b.Encode()
		if err != nil {
			t.Fatal(err)
		}
		d, err := Decode(again)
		if err != nil || !bytes.Equal(d.Bytes(), b.Bytes()) {
			t.Fatalf("re-encoded list differs (%v)", err)
		}
	})
}

// FuzzVerifyProof checks that VerifyProof and ParseCredential never panic
// on any document, refuse with ErrVerification or ErrMalformed, and that a
// document they accept still verifies in its canonical form.
func FuzzVerifyProof(f *testing.F) {
	key, err := keys.GenerateSoftware(keys.SM2SM3, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signedList(f, key, 3))
	f.Add([]byte(`{"proof":{"type":"DataIntegrityProof","cryptosuite":"zhengzhao-sm2-jcs-2026","proofPurpose":"assertionMethod","verificationMethod":"x","proofValue":"z1"}}`))
	f.Add([]byte(`{"@context":"a","proof":{"@context":["a","b"]}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		if _, err := ParseCredential(doc, key.Public()); err != nil {
			if !errors.Is(err, ErrVerification) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error of no known kind: %v", err)
			}
		}
		if _, err := VerifyProof(doc, key.Public()); err != nil {
			if !errors.Is(err, ErrVerification) {
				t.Fatalf("VerifyProof error without ErrVerification: %v", err)
			}
			return
		}
		c, err := canon.Transform(doc)
		if err != nil {
			t.Fatalf("accepted a document JCS refuses: %v", err)
		}
		if _, err := VerifyProof(c, key.Public()); err != nil {
			t.Fatalf("accepted document fails in canonical form: %v", err)
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(doc, &m) != nil || m["proof"] == nil {
			t.Fatal("accepted a document without a proof object")
		}
	})
}
