package ca

import (
	"crypto/rand"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// fuzzSeeds returns a valid certificate chain in DER and PEM and a CRL, to
// seed the parsers' fuzz corpora.
func fuzzSeeds(f *testing.F) (certDER, chainPEM, crlDER []byte) {
	key, err := keys.GenerateSoftware(keys.SM2SM3, nil)
	if err != nil {
		f.Fatal(err)
	}
	root, err := NewRoot(key.CryptoSigner(), pkix.Name{CommonName: "Fuzz Root"}, t0, t0.Add(year), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	ca, err := New(root, key.CryptoSigner(), fixedClock(t0), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	seal, err := ca.Issue(IssueRequest{PublicKey: key.Public(), Subject: pkix.Name{CommonName: "Fuzz Seal"}, Purpose: Seal, NotBefore: t0, NotAfter: t0.Add(day)})
	if err != nil {
		f.Fatal(err)
	}
	crl, err := ca.CRL([]Revoked{{Serial: seal.SerialNumber, At: t0, Reason: ReasonKeyCompromise}}, big.NewInt(1), t0, t0.Add(day))
	if err != nil {
		f.Fatal(err)
	}
	return seal.Raw, EncodePEM(seal, root), crl
}

func FuzzParsePEM(f *testing.F) {
	_, chain, _ := fuzzSeeds(f)
	f.Add(chain)
	f.Add(chain[:len(chain)/2])
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParsePEM(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParsePEM() error = %v, want ErrMalformed", err)
			}
			return
		}
		if len(certs) == 0 {
			t.Fatal("ParsePEM() = no certificates and no error")
		}
		// Whatever parses must survive verification without panicking.
		_ = Verify(certs, certs[len(certs)-1:], t0, Seal)
	})
}

func FuzzParseDER(f *testing.F) {
	der, _, _ := fuzzSeeds(f)
	f.Add(der)
	f.Add(der[:len(der)-1])
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseDER(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseDER() error = %v, want ErrMalformed", err)
			}
			return
		}
		if len(c.Raw) != len(data) {
			t.Fatalf("ParseDER() Raw is %d bytes, input %d", len(c.Raw), len(data))
		}
	})
}

func FuzzParseCRL(f *testing.F) {
	_, _, crl := fuzzSeeds(f)
	f.Add(crl)
	f.Add(crl[:len(crl)-1])
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCRL(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseCRL() error = %v, want ErrMalformed", err)
			}
			return
		}
		for _, e := range c.Entries() {
			if ok, _ := c.IsRevoked(e.Serial); !ok {
				t.Fatalf("IsRevoked(%v) = false for a listed serial", e.Serial)
			}
		}
	})
}
