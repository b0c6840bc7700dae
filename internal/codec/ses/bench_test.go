package ses

import (
	"context"
	"crypto/ecdsa"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// BenchmarkSign compares ses.Sign (which verifies the seal's maker
// signature, checks validity and the signer certificate, encodes TBS_Sign
// and SES_Signature) with gmsm signing the same TBS_Sign bytes directly.
func BenchmarkSign(b *testing.B) {
	fx := newFixture(b)
	ctx := context.Background()
	h := sm3.Sum(fx.doc)
	signer := fx.signer.WithRand(nil)
	b.Run("ses", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := Sign(ctx, fx.seal, h[:], t0, "/Doc_0/Signs/Sign_0/Signature.xml", fx.signerCert, signer); err != nil {
				b.Fatal(err)
			}
		}
	})
	priv := signer.CryptoSigner().(*sm2.PrivateKey)
	tbs := fx.sig.TBS.Raw
	b.Run("raw-sm2", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := priv.Sign(nil, tbs, sm2.DefaultSM2SignerOpts); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerify compares parsing an SES_Signature and verifying the
// signer's signature with gmsm verifying the same signature over the same
// TBS_Sign bytes with an already parsed key.
func BenchmarkVerify(b *testing.B) {
	fx := newFixture(b)
	der := fx.sigDER
	b.Run("ses", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s, err := ParseSignature(der)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.VerifySignature(); err != nil {
				b.Fatal(err)
			}
		}
	})
	cert, err := smx509.ParseCertificate(fx.signerCert)
	if err != nil {
		b.Fatal(err)
	}
	pub := cert.PublicKey.(*ecdsa.PublicKey)
	tbs, sig := fx.sig.TBS.Raw, fx.sig.Value
	b.Run("raw-sm2", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !sm2.VerifyASN1WithSM2(pub, nil, tbs, sig) {
				b.Fatal("raw verify failed")
			}
		}
	})
}
