package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

func TestCryptoSigner(t *testing.T) {
	msg := []byte("印章证书 seal certificate")
	tests := []struct {
		alg      Algorithm
		wantType string
		sign     func(s crypto.Signer) ([]byte, error)
	}{
		{
			alg: SM2SM3, wantType: "*sm2.PrivateKey",
			sign: func(s crypto.Signer) ([]byte, error) { return s.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts) },
		},
		{
			alg: ECDSAP256, wantType: "*ecdsa.PrivateKey",
			sign: func(s crypto.Signer) ([]byte, error) {
				h := sha256.Sum256(msg)
				return s.Sign(rand.Reader, h[:], crypto.SHA256)
			},
		},
		{
			alg: Ed25519, wantType: "ed25519.PrivateKey",
			sign: func(s crypto.Signer) ([]byte, error) { return s.Sign(nil, msg, crypto.Hash(0)) },
		},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			k := mustGenerate(t, tt.alg)
			s := k.CryptoSigner()
			var gotType string
			switch s.(type) {
			case *sm2.PrivateKey:
				gotType = "*sm2.PrivateKey"
			case *ecdsa.PrivateKey:
				gotType = "*ecdsa.PrivateKey"
			case ed25519.PrivateKey:
				gotType = "ed25519.PrivateKey"
			default:
				gotType = "other"
			}
			if gotType != tt.wantType {
				t.Fatalf("CryptoSigner() type = %s (%T), want %s", gotType, s, tt.wantType)
			}
			pub, ok := s.Public().(interface{ Equal(crypto.PublicKey) bool })
			if !ok || !pub.Equal(k.Public()) {
				t.Errorf("CryptoSigner().Public() = %v, want k.Public() %v", s.Public(), k.Public())
			}
			sig, err := tt.sign(s)
			if err != nil {
				t.Fatalf("CryptoSigner().Sign() error = %v", err)
			}
			if err := Verify(tt.alg, k.Public(), msg, sig); err != nil {
				t.Errorf("Verify(CryptoSigner signature) = %v, want nil", err)
			}
		})
	}
	if got := (&SoftwareKey{}).CryptoSigner(); got != nil {
		t.Errorf("zero SoftwareKey CryptoSigner() = %T, want nil", got)
	}
}
