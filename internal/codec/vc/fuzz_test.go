package vc

import (
	"errors"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// FuzzVerify checks that Verify never panics, refuses with one of its two
// errors, and that what it accepts is a valid credential.
func FuzzVerify(f *testing.F) {
	signed, k, _ := signedWith(f, keys.SM2SM3)
	f.Add(signed)
	f.Add([]byte(`{"proof":{}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := Verify(doc, k.Public())
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, statuslist.ErrVerification) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted an invalid credential: %v", err)
		}
	})
}

// FuzzNew checks that New never panics on any document and that what it
// makes is valid.
func FuzzNew(f *testing.F) {
	f.Add(readFile(f, sourceDoc))
	f.Add([]byte(`{"license":{},"signature":"AA=="}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := New(doc, base)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("New made an invalid credential: %v", err)
		}
		if err := c.Describes(doc); err != nil {
			t.Fatalf("New made a credential that does not describe its document: %v", err)
		}
	})
}
