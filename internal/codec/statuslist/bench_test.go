package statuslist

import (
	"math/rand/v2"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// benchList returns a list of MinSize entries with n set at random.
func benchList(b *testing.B, n int) *Bitstring {
	b.Helper()
	l, err := New(MinSize)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range n {
		if err := l.Set(r.IntN(MinSize), true); err != nil {
			b.Fatal(err)
		}
	}
	return l
}

// BenchmarkEncode measures publishing a list with 3,000 entries set.
func BenchmarkEncode(b *testing.B) {
	l := benchList(b, 3000)
	for b.Loop() {
		if _, err := l.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode measures a verifier expanding the same list.
func BenchmarkDecode(b *testing.B) {
	enc, err := benchList(b, 3000).Encode()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignVerify measures signing a list credential and verifying it,
// per cryptosuite.
func BenchmarkSignVerify(b *testing.B) {
	for _, alg := range []keys.Algorithm{keys.SM2SM3, keys.ECDSAP256} {
		k, err := keys.GenerateSoftware(alg, nil)
		if err != nil {
			b.Fatal(err)
		}
		doc := signedList(b, k, 1, 2, 3)
		b.Run("sign/"+string(alg), func(b *testing.B) {
			for b.Loop() {
				signedList(b, k, 1, 2, 3)
			}
		})
		b.Run("verify/"+string(alg), func(b *testing.B) {
			for b.Loop() {
				if _, err := ParseCredential(doc, k.Public()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCheck measures a verifier checking one entry against a verified
// list (expanding it each time, as Check does).
func BenchmarkCheck(b *testing.B) {
	k, err := keys.GenerateSoftware(keys.SM2SM3, nil)
	if err != nil {
		b.Fatal(err)
	}
	c, err := ParseCredential(signedList(b, k, 94567), k.Public())
	if err != nil {
		b.Fatal(err)
	}
	e, err := NewEntry(listURL, PurposeRevocation, 94567)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if set, err := Check(e, c); err != nil || !set {
			b.Fatal(set, err)
		}
	}
}
