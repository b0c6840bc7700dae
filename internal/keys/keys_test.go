package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

func mustGenerate(t testing.TB, alg Algorithm) *SoftwareKey {
	t.Helper()
	k, err := GenerateSoftware(alg, nil)
	if err != nil {
		t.Fatalf("GenerateSoftware(%s) error = %v", alg, err)
	}
	return k
}

func TestParseAlgorithm(t *testing.T) {
	tests := []struct {
		in      string
		want    Algorithm
		wantErr bool
	}{
		{in: "SM2-SM3", want: SM2SM3},
		{in: " sm2-sm3 ", want: SM2SM3},
		{in: "ECDSA-P256-SHA256", want: ECDSAP256},
		{in: "ed25519", want: Ed25519},
		{in: "", wantErr: true},
		{in: "RSA", wantErr: true},
		{in: "SM2", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseAlgorithm(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrUnknownAlgorithm) {
				t.Errorf("ParseAlgorithm(%q) error = %v, want ErrUnknownAlgorithm", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseAlgorithm(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
		}
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, alg := range Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			k := mustGenerate(t, alg)
			other := mustGenerate(t, alg)
			// A prepared key (PrepareVerify) must judge exactly as the key.
			prepared, err := PrepareVerify(k.Public())
			if err != nil {
				t.Fatalf("PrepareVerify: %v", err)
			}
			if _, isSM2 := prepared.(*SM2PublicKey); isSM2 != (alg == SM2SM3) {
				t.Fatalf("PrepareVerify gave %T", prepared)
			}
			for _, pub := range []crypto.PublicKey{k.Public(), prepared} {
				for _, msg := range [][]byte{nil, []byte("电子证照 license #42"), bytes.Repeat([]byte{0xA5}, 10000)} {
					sig, err := k.Sign(ctx, msg)
					if err != nil {
						t.Fatalf("Sign(len %d) error = %v", len(msg), err)
					}
					if err := Verify(alg, pub, msg, sig); err != nil {
						t.Errorf("Verify(%T, good, len %d) = %v, want nil", pub, len(msg), err)
					}
					tampered := append(append([]byte{}, msg...), 'x')
					if err := Verify(alg, pub, tampered, sig); !errors.Is(err, ErrBadSignature) {
						t.Errorf("Verify(%T, tampered message) = %v, want ErrBadSignature", pub, err)
					}
					badSig := append([]byte{}, sig...)
					badSig[len(badSig)/2] ^= 0x01
					if err := Verify(alg, pub, msg, badSig); !errors.Is(err, ErrBadSignature) {
						t.Errorf("Verify(%T, tampered signature) = %v, want ErrBadSignature", pub, err)
					}
					if err := Verify(alg, other.Public(), msg, sig); !errors.Is(err, ErrBadSignature) {
						t.Errorf("Verify(wrong key) = %v, want ErrBadSignature", err)
					}
					for _, n := range []int{0, 1, len(sig) / 2, len(sig) - 1} {
						if err := Verify(alg, pub, msg, sig[:n]); !errors.Is(err, ErrBadSignature) {
							t.Errorf("Verify(%T, truncated to %d) = %v, want ErrBadSignature", pub, n, err)
						}
					}
				}
			}
		})
	}
}

// TestCrossCheckWithLibraries verifies our signatures by calling the
// underlying libraries directly on raw bytes, so a bug shared by our Sign and
// our Verify cannot hide.
func TestCrossCheckWithLibraries(t *testing.T) {
	ctx := context.Background()
	msg := []byte("GB/T 35276 cross-check")
	tests := []struct {
		alg    Algorithm
		verify func(pub any, msg, sig []byte) bool
	}{
		{SM2SM3, func(pub any, msg, sig []byte) bool {
			// nil UID means the default "1234567812345678"; pass it explicitly anyway.
			return sm2.VerifyASN1WithSM2(pub.(*ecdsa.PublicKey), []byte("1234567812345678"), msg, sig)
		}},
		{ECDSAP256, func(pub any, msg, sig []byte) bool {
			h := sha256.Sum256(msg)
			return ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), h[:], sig)
		}},
		{Ed25519, func(pub any, msg, sig []byte) bool {
			return ed25519.Verify(pub.(ed25519.PublicKey), msg, sig)
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			k := mustGenerate(t, tt.alg)
			sig, err := k.Sign(ctx, msg)
			if err != nil {
				t.Fatalf("Sign error = %v", err)
			}
			if got := tt.verify(k.Public(), msg, sig); !got {
				t.Errorf("library verify of our signature = false, want true")
			}
			if got := tt.verify(k.Public(), []byte("other"), sig); got {
				t.Errorf("library verify of other message = true, want false")
			}
		})
	}

	// The other direction for SM2: a signature made by gmsm's own
	// message-signing API with the default UID verifies with our Verify.
	k := mustGenerate(t, SM2SM3)
	sig, err := sm2.SignASN1(rand.Reader, k.sm2, msg, sm2.DefaultSM2SignerOpts)
	if err != nil {
		t.Fatalf("sm2.SignASN1 error = %v", err)
	}
	if err := Verify(SM2SM3, k.Public(), msg, sig); err != nil {
		t.Errorf("Verify(gmsm-made SM2 signature) = %v, want nil", err)
	}
	// A signature over the same message with a non-default UID must not verify.
	sig, err = sm2.SignASN1(rand.Reader, k.sm2, msg, sm2.NewSM2SignerOption(true, []byte("another-user-id")))
	if err != nil {
		t.Fatalf("sm2.SignASN1(other UID) error = %v", err)
	}
	if err := Verify(SM2SM3, k.Public(), msg, sig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify(SM2 signature with other UID) = %v, want ErrBadSignature", err)
	}
}

func TestVerifyKeyMismatch(t *testing.T) {
	sm2Key := mustGenerate(t, SM2SM3)
	ecKey := mustGenerate(t, ECDSAP256)
	edKey := mustGenerate(t, Ed25519)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		alg  Algorithm
		pub  any
		want error
	}{
		{"SM2 alg with P-256 key", SM2SM3, ecKey.Public(), ErrAlgorithmMismatch},
		{"P-256 alg with prepared SM2 key", ECDSAP256, prepared(t, sm2Key.Public()), ErrAlgorithmMismatch},
		{"P-256 alg with SM2 key", ECDSAP256, sm2Key.Public(), ErrAlgorithmMismatch},
		{"P-256 alg with P-384 key", ECDSAP256, &p384.PublicKey, ErrAlgorithmMismatch},
		{"Ed25519 alg with SM2 key", Ed25519, sm2Key.Public(), ErrAlgorithmMismatch},
		{"SM2 alg with Ed25519 key", SM2SM3, edKey.Public(), ErrAlgorithmMismatch},
		{"nil key", SM2SM3, nil, ErrAlgorithmMismatch},
		{"unknown alg", Algorithm("RSA"), ecKey.Public(), ErrUnknownAlgorithm},
	}
	for _, tt := range tests {
		err := Verify(tt.alg, tt.pub, []byte("m"), []byte("sig"))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Verify error = %v, want %v", tt.name, err, tt.want)
		}
	}
	// Incomplete keys must not panic.
	for _, pub := range []any{(*ecdsa.PublicKey)(nil), &ecdsa.PublicKey{Curve: sm2.P256()}, &ecdsa.PublicKey{Curve: sm2.P256(), X: big.NewInt(1), Y: big.NewInt(2)}, ed25519.PublicKey{1, 2}} { //nolint:staticcheck // SA1019: incomplete and off-curve keys can only be built from raw coordinates
		if err := Verify(SM2SM3, pub, []byte("m"), []byte("sig")); err == nil {
			t.Errorf("Verify(SM2, %#v) = nil, want error", pub)
		}
		if p, err := PrepareVerify(pub); err == nil {
			if _, isSM2 := p.(*SM2PublicKey); isSM2 {
				t.Errorf("PrepareVerify(%#v) prepared an unusable key", pub)
			}
		}
	}
}

func prepared(t *testing.T, pub crypto.PublicKey) crypto.PublicKey {
	t.Helper()
	p, err := PrepareVerify(pub)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSignCancelledContext(t *testing.T) {
	k := mustGenerate(t, SM2SM3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := k.Sign(ctx, []byte("m")); !errors.Is(err, context.Canceled) {
		t.Errorf("Sign(cancelled ctx) error = %v, want context.Canceled", err)
	}
}

func TestPKCS8RoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, alg := range Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			k := mustGenerate(t, alg)
			der, err := k.MarshalPKCS8()
			if err != nil {
				t.Fatalf("MarshalPKCS8 error = %v", err)
			}
			k2, err := ParseSoftwarePKCS8(alg, der)
			if err != nil {
				t.Fatalf("ParseSoftwarePKCS8 error = %v", err)
			}
			if !k2.Public().(equaler).Equal(k.Public()) {
				t.Errorf("parsed public key differs from original")
			}
			sig, err := k2.Sign(ctx, []byte("after reload"))
			if err != nil {
				t.Fatalf("Sign error = %v", err)
			}
			if err := Verify(alg, k.Public(), []byte("after reload"), sig); err != nil {
				t.Errorf("Verify(signature of reloaded key) = %v, want nil", err)
			}
			for _, other := range Algorithms() {
				if other == alg {
					continue
				}
				if _, err := ParseSoftwarePKCS8(other, der); !errors.Is(err, ErrAlgorithmMismatch) {
					t.Errorf("ParseSoftwarePKCS8(%s, %s key) error = %v, want ErrAlgorithmMismatch", other, alg, err)
				}
			}
			for _, n := range []int{0, 1, len(der) / 2, len(der) - 1} {
				if _, err := ParseSoftwarePKCS8(alg, der[:n]); err == nil {
					t.Errorf("ParseSoftwarePKCS8(truncated to %d) = nil error, want error", n)
				}
			}
		})
	}
	if _, err := ParseSoftwarePKCS8("sm2-sm3", nil); !errors.Is(err, ErrUnknownAlgorithm) {
		t.Errorf("ParseSoftwarePKCS8(non-canonical alg) error = %v, want ErrUnknownAlgorithm", err)
	}
}

func TestPublicPEMRoundTrip(t *testing.T) {
	for _, alg := range Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			k := mustGenerate(t, alg)
			p, err := MarshalPublicPEM(k.Public())
			if err != nil {
				t.Fatalf("MarshalPublicPEM error = %v", err)
			}
			if !bytes.HasPrefix(p, []byte("-----BEGIN PUBLIC KEY-----\n")) {
				t.Errorf("MarshalPublicPEM = %q, want a PUBLIC KEY block", p)
			}
			pub, gotAlg, err := ParsePublicPEM(p)
			if err != nil {
				t.Fatalf("ParsePublicPEM error = %v", err)
			}
			if gotAlg != alg {
				t.Errorf("ParsePublicPEM algorithm = %s, want %s", gotAlg, alg)
			}
			if !pub.(equaler).Equal(k.Public()) {
				t.Errorf("ParsePublicPEM key differs from original")
			}
			sig, err := k.Sign(context.Background(), []byte("m"))
			if err != nil {
				t.Fatal(err)
			}
			if err := Verify(gotAlg, pub, []byte("m"), sig); err != nil {
				t.Errorf("Verify with parsed key = %v, want nil", err)
			}
		})
	}
}

func TestParsePublicPEMErrors(t *testing.T) {
	good, err := MarshalPublicPEM(mustGenerate(t, SM2SM3).Public())
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := MarshalPublicPEM(&p384.PublicKey); !errors.Is(err, ErrAlgorithmMismatch) {
		t.Errorf("MarshalPublicPEM(P-384) error = %v, want ErrAlgorithmMismatch", err)
	}
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"not PEM", "hello"},
		{"wrong type", strings.Replace(string(good), "PUBLIC KEY", "PRIVATE KEY", 2)},
		{"trailing data", string(good) + "garbage"},
		{"two blocks", string(good) + string(good)},
		{"bad DER", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"},
		{"truncated", string(good[:len(good)-40])},
	}
	for _, tt := range tests {
		if _, _, err := ParsePublicPEM([]byte(tt.in)); err == nil {
			t.Errorf("%s: ParsePublicPEM = nil error, want error", tt.name)
		}
	}
}

func TestPublicJWK(t *testing.T) {
	tests := []struct {
		alg      Algorithm
		kty, crv string
		hasY     bool
	}{
		{SM2SM3, "EC", "SM2", true},
		{ECDSAP256, "EC", "P-256", true},
		{Ed25519, "OKP", "Ed25519", false},
	}
	for _, tt := range tests {
		k := mustGenerate(t, tt.alg)
		jwk, err := PublicJWK(k.Public())
		if err != nil {
			t.Fatalf("PublicJWK(%s) error = %v", tt.alg, err)
		}
		if jwk["kty"] != tt.kty || jwk["crv"] != tt.crv {
			t.Errorf("PublicJWK(%s) kty, crv = %v, %v; want %s, %s", tt.alg, jwk["kty"], jwk["crv"], tt.kty, tt.crv)
		}
		x, err := base64.RawURLEncoding.DecodeString(jwk["x"].(string))
		if err != nil || len(x) != 32 {
			t.Errorf("PublicJWK(%s) x = %v (%d bytes, err %v), want 32 bytes", tt.alg, jwk["x"], len(x), err)
		}
		_, gotY := jwk["y"]
		if gotY != tt.hasY {
			t.Errorf("PublicJWK(%s) has y = %v, want %v", tt.alg, gotY, tt.hasY)
		}
		switch pub := k.Public().(type) {
		case *ecdsa.PublicKey:
			y, _ := base64.RawURLEncoding.DecodeString(jwk["y"].(string))
			// The raw coordinates are an oracle independent of the Bytes and
			// ECDH encodings PublicJWK uses.
			if new(big.Int).SetBytes(x).Cmp(pub.X) != 0 || new(big.Int).SetBytes(y).Cmp(pub.Y) != 0 { //nolint:staticcheck // SA1019: read only, as an independent check
				t.Errorf("PublicJWK(%s) coordinates do not match the key", tt.alg)
			}
		case ed25519.PublicKey:
			if !bytes.Equal(x, pub) {
				t.Errorf("PublicJWK(Ed25519) x = %x, want %x", x, []byte(pub))
			}
		}
	}
	if _, err := PublicJWK("not a key"); !errors.Is(err, ErrAlgorithmMismatch) {
		t.Errorf("PublicJWK(string) error = %v, want ErrAlgorithmMismatch", err)
	}
}

func TestGenerateSoftwareUsesRand(t *testing.T) {
	// SM2 and Ed25519 keys come from the injected reader.
	for _, alg := range []Algorithm{SM2SM3, Ed25519} {
		k1, err := GenerateSoftware(alg, bytes.NewReader(bytes.Repeat([]byte{7}, 4096)))
		if err != nil {
			t.Fatalf("GenerateSoftware(%s, fixed) error = %v", alg, err)
		}
		k2, err := GenerateSoftware(alg, bytes.NewReader(bytes.Repeat([]byte{7}, 4096)))
		if err != nil {
			t.Fatalf("GenerateSoftware(%s, fixed) error = %v", alg, err)
		}
		if !k1.Public().(equaler).Equal(k2.Public()) {
			t.Errorf("GenerateSoftware(%s) with the same reader gave different keys", alg)
		}
	}
	if _, err := GenerateSoftware(Ed25519, bytes.NewReader(nil)); err == nil {
		t.Errorf("GenerateSoftware(empty reader) = nil error, want error")
	}
	if _, err := GenerateSoftware("nope", nil); !errors.Is(err, ErrUnknownAlgorithm) {
		t.Errorf("GenerateSoftware(unknown) error = %v, want ErrUnknownAlgorithm", err)
	}
}

func FuzzVerify(f *testing.F) {
	ctx := context.Background()
	signers := make([]*SoftwareKey, 0, len(knownAlgorithms))
	for _, alg := range Algorithms() {
		k := mustGenerate(f, alg)
		signers = append(signers, k)
		sig, err := k.Sign(ctx, []byte("seed"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(len(signers)-1), []byte("seed"), sig)
		f.Add(uint8(len(signers)-1), []byte("seed"), sig[:len(sig)-1])
	}
	f.Add(uint8(0), []byte{}, []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01})
	f.Add(uint8(1), []byte{}, []byte{0x30, 0x80})
	f.Fuzz(func(t *testing.T, which uint8, msg, sig []byte) {
		k := signers[int(which)%len(signers)]
		err := Verify(k.Algorithm(), k.Public(), msg, sig)
		if err != nil && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("Verify error = %v, want nil or ErrBadSignature", err)
		}
		if err == nil && (!bytes.Equal(msg, []byte("seed")) || len(sig) == 0) {
			// Only the seeded signatures (or a forgery!) can verify.
			t.Fatalf("Verify accepted a signature over %q: %x", msg, sig)
		}
	})
}

// equaler is implemented by every public key type of the standard library.
type equaler interface{ Equal(crypto.PublicKey) bool }

// TestSignsConcurrently: a software key with its own randomness signs from
// several goroutines at once; one given a reader of the caller's does not
// (the reader need not be safe for it).
func TestSignsConcurrently(t *testing.T) {
	k, err := GenerateSoftware(SM2SM3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !SignsConcurrently(k) {
		t.Error("a software key with crypto/rand does not sign concurrently")
	}
	if SignsConcurrently(k.WithRand(strings.NewReader("not safe for concurrent reads"))) {
		t.Error("a software key with the caller's reader signs concurrently")
	}
}
