package envelope

import (
	"crypto/hmac"
	"crypto/rand"
	"testing"

	"github.com/emmansun/gmsm/sm3"
)

// benchValue is the size of a typical encrypted column (a citizen ID with
// some slack).
var benchValue = make([]byte, 64)

// BenchmarkSeal compares DataKey.Seal (nonce from crypto/rand, AD encoding,
// framing) with what any correct caller of the bare cipher.AEAD must do: a
// fresh random nonce per value, then Seal. "zhengzhao" is field layout 1
// (a key without an ID), "v2" layout 2 (a key with an ID, as the store
// seals now); their ratio is the cost of naming the key.
func BenchmarkSeal(b *testing.B) {
	m := testMaster(b, 1)
	ad := AD{Table: "licence", Row: "1234567", Column: "holder_id"}
	for _, s := range suites {
		dk, _, err := m.NewDataKey(s, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(s.String()+"/zhengzhao", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(benchValue)))
			for b.Loop() {
				if _, err := dk.Seal(benchValue, ad); err != nil {
					b.Fatal(err)
				}
			}
		})
		named := dk.WithID(2)
		b.Run(s.String()+"/v2", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(benchValue)))
			for b.Loop() {
				if _, err := named.Seal(benchValue, ad); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.String()+"/raw", func(b *testing.B) {
			nonce := make([]byte, nonceSize)
			rawAD := []byte("licence1234567holder_id")
			b.ReportAllocs()
			b.SetBytes(int64(len(benchValue)))
			for b.Loop() {
				rand.Read(nonce)
				_ = dk.aead.Seal(nil, nonce, benchValue, rawAD)
			}
		})
	}
}

// BenchmarkOpen compares DataKey.Open with a bare cipher.AEAD.Open, for
// field layout 1 ("zhengzhao") and layout 2 ("v2").
func BenchmarkOpen(b *testing.B) {
	m := testMaster(b, 1)
	ad := AD{Table: "licence", Row: "1234567", Column: "holder_id"}
	for _, s := range suites {
		dk, _, err := m.NewDataKey(s, nil)
		if err != nil {
			b.Fatal(err)
		}
		ct, err := dk.Seal(benchValue, ad)
		if err != nil {
			b.Fatal(err)
		}
		named := dk.WithID(2)
		ct2, err := named.Seal(benchValue, ad)
		if err != nil {
			b.Fatal(err)
		}
		nonce := make([]byte, nonceSize)
		rawAD := []byte("licence1234567holder_id")
		rawCT := dk.aead.Seal(nil, nonce, benchValue, rawAD)
		b.Run(s.String()+"/zhengzhao", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(benchValue)))
			for b.Loop() {
				if _, err := dk.Open(ct, ad); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.String()+"/v2", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(benchValue)))
			for b.Loop() {
				if _, err := named.Open(ct2, ad); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.String()+"/raw", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(benchValue)))
			for b.Loop() {
				if _, err := dk.aead.Open(nil, nonce, rawCT, rawAD); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBlindIndex compares BlindIndex with a bare HMAC-SM3 (no hex).
func BenchmarkBlindIndex(b *testing.B) {
	key, err := testMaster(b, 1).BlindIndexKey("citizen_id")
	if err != nil {
		b.Fatal(err)
	}
	const v = "11010119900307777X"
	b.Run("zhengzhao", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = BlindIndex(key, v)
		}
	})
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			mac := hmac.New(sm3.New, key)
			mac.Write([]byte(v))
			_ = mac.Sum(nil)
		}
	})
}
