package qr

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// encode encodes the claims with k, failing the test on error.
func encode(t testing.TB, c Claims, k keys.Signer) string {
	t.Helper()
	p, err := Encode(context.Background(), c, k, sampleKID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRoundTrip encodes and reads back a payload with each algorithm.
func TestRoundTrip(t *testing.T) {
	for _, alg := range []keys.Algorithm{keys.SM2SM3, keys.ECDSAP256} {
		t.Run(string(alg), func(t *testing.T) {
			k := newKey(t, alg)
			want := sampleClaims()
			want.Fields["registered_capital_wan"] = int64(500)
			want.Fields["listed"] = false
			want.Fields["branch"] = nil
			payload := encode(t, want, k)
			if !strings.HasPrefix(payload, Prefix) {
				t.Fatalf("payload %q lacks the prefix", payload)
			}
			p, err := Decode(payload)
			if err != nil {
				t.Fatal(err)
			}
			if p.Algorithm != alg || !bytes.Equal(p.KID, sampleKID) {
				t.Fatalf("parsed %s kid %q, want %s %q", p.Algorithm, p.KID, alg, sampleKID)
			}
			got, err := Verify(p, k.Public(), t0.Add(30*time.Second), 0)
			if err != nil {
				t.Fatal(err)
			}
			want.Expires = t0.Add(DefaultLifetime)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("claims\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestEncodeDefaults checks the one-minute expiry, the drawn nonces and
// the refusals of Encode.
func TestEncodeDefaults(t *testing.T) {
	k := newKey(t, keys.SM2SM3)
	c := sampleClaims()
	c.Nonce = [NonceSize]byte{}
	a, b := mustDecode(t, encode(t, c, k)), mustDecode(t, encode(t, c, k))
	if a.Claims.Nonce == ([NonceSize]byte{}) || a.Claims.Nonce == b.Claims.Nonce {
		t.Fatalf("nonces %x and %x: want two random ones", a.Claims.Nonce, b.Claims.Nonce)
	}
	if want := t0.Add(time.Minute); !a.Claims.Expires.Equal(want) {
		t.Fatalf("expires %s, want %s", a.Claims.Expires, want)
	}

	none := sampleClaims()
	none.Fields = nil
	if p := mustDecode(t, encode(t, none, k)); p.Claims.Fields == nil || len(p.Claims.Fields) != 0 {
		t.Fatalf("no fields disclosed: read %#v, want an empty map", p.Claims.Fields)
	}

	ed := newKey(t, keys.Ed25519)
	if _, err := Encode(context.Background(), sampleClaims(), ed, sampleKID); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("Ed25519 signer: %v, want ErrAlgorithm", err)
	}
	if _, err := Encode(context.Background(), sampleClaims(), k, nil); !errors.Is(err, ErrStructure) {
		t.Errorf("no kid: %v, want ErrStructure", err)
	}
	for name, mutate := range map[string]func(*Claims){
		"no license":     func(c *Claims) { c.LicenseID = "" },
		"no iat":         func(c *Claims) { c.IssuedAt = time.Time{} },
		"exp before iat": func(c *Claims) { c.Expires = c.IssuedAt.Add(-time.Second) },
		"type version 0": func(c *Claims) { c.TypeVersion = 0 },
		"float field":    func(c *Claims) { c.Fields["x"] = 1.5 },
		"bytes field ''": func(c *Claims) { c.Fields[""] = []byte{1} },
		"bad UTF-8":      func(c *Claims) { c.Holder = "\xff" },
	} {
		c := sampleClaims()
		mutate(&c)
		if _, err := Encode(context.Background(), c, k, sampleKID); !errors.Is(err, ErrClaims) {
			t.Errorf("%s: %v, want ErrClaims", name, err)
		}
	}
	big := sampleClaims()
	big.Fields["business_scope"] = strings.Repeat("经营", MaxDecompressed/6)
	if _, err := Encode(context.Background(), big, k, sampleKID); !errors.Is(err, ErrTooLarge) {
		t.Errorf("claims beyond MaxDecompressed: %v, want ErrTooLarge", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Encode(ctx, sampleClaims(), k, sampleKID); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func mustDecode(t testing.TB, payload string) Parsed {
	t.Helper()
	p, err := Decode(payload)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// wireOf returns the claims of c as the encoder writes them, for tests
// to alter.
func wireOf(t testing.TB, c Claims) map[any]any {
	t.Helper()
	var m map[any]any
	if err := cbor.Unmarshal(mustMarshal(t, c), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// ck is a claim key as cbor.Unmarshal reads it into map[any]any.
func ck(n int) any {
	if n < 0 {
		return int64(n)
	}
	return uint64(n)
}

func mustMarshal(t testing.TB, c Claims) []byte {
	t.Helper()
	c.Expires = c.IssuedAt.Add(DefaultLifetime)
	b, err := marshalClaims(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeRefusals gives Decode each kind of bad payload and checks
// the reason it names.
func TestDecodeRefusals(t *testing.T) {
	k := sm2Key(t)
	good := encode(t, sampleClaims(), k)
	parts := splitSign1(t, good)
	with := func(f func(*sign1)) string {
		m := parts
		f(&m)
		return joinSign1(t, m)
	}
	protected := func(h map[any]any) func(*sign1) {
		return func(m *sign1) { m.Protected = mustCBOR(t, h) }
	}
	claims := func(f func(map[any]any)) func(*sign1) {
		return func(m *sign1) {
			w := wireOf(t, sampleClaims())
			f(w)
			m.Payload = mustCBOR(t, w)
		}
	}
	license := func(f func(map[any]any)) func(*sign1) {
		return claims(func(w map[any]any) { f(w[ck(claimLicense)].(map[any]any)) })
	}
	zeros := wrap(t, make([]byte, MaxDecompressed+1))
	for _, tc := range []struct {
		name    string
		payload string
		want    error
	}{
		{"empty", "", ErrPrefix},
		{"EU prefix", "HC1:" + good[len(Prefix):], ErrPrefix},
		{"next version", "ZZ2:" + good[len(Prefix):], ErrPrefix},
		{"lower case prefix", strings.ToLower(Prefix) + good[len(Prefix):], ErrPrefix},
		{"too long", Prefix + strings.Repeat("0", MaxPayload), ErrTooLarge},
		{"zip bomb", zeros, ErrTooLarge},
		{"not Base45", good + "a", ErrEncoding},
		{"truncated by one", good[:len(good)-1], ErrEncoding},
		{"truncated by three", good[:len(good)-3], ErrEncoding},
		{"truncated to half", good[:len(Prefix)+(len(good)-len(Prefix))/2/3*3], ErrEncoding},
		{"not zlib", Prefix + base45Encode([]byte("not zlib at all")), ErrEncoding},
		{"not CBOR", wrap(t, []byte{0xff, 0x00}), ErrStructure},
		{"untagged", wrap(t, mustCBOR(t, []any{parts.Protected, map[any]any{}, parts.Payload, parts.Signature})), ErrStructure},
		{"trailing bytes", wrap(t, append(unwrap(t, good), 0x00)), ErrStructure},
		{"unprotected kid", with(func(m *sign1) { m.Unprotected = mustCBOR(t, map[any]any{4: []byte("x")}) }), ErrStructure},
		{"crit header", with(protected(map[any]any{1: -65537, 2: []any{99}, 4: sampleKID, 99: 1})), ErrStructure},
		{"content type", with(protected(map[any]any{1: -65537, 3: 60, 4: sampleKID})), ErrStructure},
		{"no kid", with(protected(map[any]any{1: -65537})), ErrStructure},
		{"empty protected header", with(func(m *sign1) { m.Protected = nil }), ErrStructure},
		{"unprotected not a map", with(func(m *sign1) { m.Unprotected = mustCBOR(t, 0) }), ErrStructure},
		{"nil payload", with(func(m *sign1) { m.Payload = nil }), ErrStructure},
		{"tagged protected header", with(func(m *sign1) { m.Protected = mustCBOR(t, cbor.Tag{Number: 24, Content: m.Protected}) }), ErrStructure},
		{"text kid", with(protected(map[any]any{1: -65537, 4: "kid"})), ErrStructure},
		{"short signature", with(func(m *sign1) { m.Signature = m.Signature[:63] }), ErrStructure},
		{"DER signature", with(func(m *sign1) { m.Signature = derOfRaw(m.Signature) }), ErrStructure},
		{"no alg", with(protected(map[any]any{4: sampleKID})), ErrAlgorithm},
		{"EdDSA", with(protected(map[any]any{1: -8, 4: sampleKID})), ErrAlgorithm},
		{"ES384", with(protected(map[any]any{1: -35, 4: sampleKID})), ErrAlgorithm},
		{"claims not a map", with(func(m *sign1) { m.Payload = mustCBOR(t, []int{1}) }), ErrClaims},
		{"unknown claim", with(claims(func(w map[any]any) { w[ck(7)] = []byte("cti") })), ErrClaims},
		{"unknown license key", with(license(func(l map[any]any) { l[ck(10)] = 1 })), ErrClaims},
		{"no exp", with(claims(func(w map[any]any) { delete(w, ck(claimExp)) })), ErrClaims},
		{"no iat", with(claims(func(w map[any]any) { delete(w, ck(claimIat)) })), ErrClaims},
		{"negative iat", with(claims(func(w map[any]any) { w[ck(claimIat)] = -1 })), ErrClaims},
		{"no status index", with(license(func(l map[any]any) { delete(l, ck(keyStatusIndex)) })), ErrClaims},
		{"no fields", with(license(func(l map[any]any) { delete(l, ck(keyFields)) })), ErrClaims},
		{"no license", with(claims(func(w map[any]any) { delete(w, ck(claimLicense)) })), ErrClaims},
		{"no nonce", with(license(func(l map[any]any) { delete(l, ck(keyNonce)) })), ErrClaims},
		{"short nonce", with(license(func(l map[any]any) { l[ck(keyNonce)] = []byte{1} })), ErrClaims},
		{"one status list", with(license(func(l map[any]any) { l[ck(keyStatusLists)] = []string{"https://x"} })), ErrClaims},
		{"float field", with(license(func(l map[any]any) { l[ck(keyFields)] = map[string]any{"x": 1.5} })), ErrClaims},
		{"tagged field", with(license(func(l map[any]any) { l[ck(keyFields)] = map[string]any{"x": cbor.Tag{Number: 1, Content: 0}} })), ErrClaims},
		{"holder not text", with(license(func(l map[any]any) { l[ck(keyHolder)] = []byte("x") })), ErrClaims},
		{"repeated key", with(func(m *sign1) {
			m.Payload = append([]byte{0xa5}, append(m.Payload[1:], 0x01, 0x61, 'x')...)
		}), ErrClaims},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Decode(tc.payload)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode = %+v, %v; want %v", p.Claims, err, tc.want)
			}
		})
	}
}

// TestVerifyRefusals checks the reasons Verify names: a wrong or foreign
// key, a payload altered after signing, and the validity window.
func TestVerifyRefusals(t *testing.T) {
	k := sm2Key(t)
	good := encode(t, sampleClaims(), k)
	p := mustDecode(t, good)
	other := newKey(t, keys.SM2SM3)
	p256 := newKey(t, keys.ECDSAP256)

	tampered := splitSign1(t, good)
	c := sampleClaims()
	c.Holder = "另一家公司"
	tampered.Payload = mustMarshal(t, c)
	pt := mustDecode(t, joinSign1(t, tampered))

	flipped := splitSign1(t, good)
	flipped.Signature = bytes.Clone(flipped.Signature)
	flipped.Signature[10] ^= 1
	pf := mustDecode(t, joinSign1(t, flipped))

	// The kid is protected: changing it breaks the signature.
	rekeyed := splitSign1(t, good)
	rekeyed.Protected = mustCBOR(t, map[any]any{1: -65537, 4: []byte("zz-present-2026-2")})
	pk := mustDecode(t, joinSign1(t, rekeyed))

	skew := 5 * time.Second
	for _, tc := range []struct {
		name string
		p    Parsed
		pub  any
		now  time.Time
		want error
	}{
		{"valid", p, k.Public(), t0, nil},
		{"valid at the last second", p, k.Public(), t0.Add(time.Minute + skew - time.Second), nil},
		{"valid within skew before iat", p, k.Public(), t0.Add(-skew), nil},
		{"expired", p, k.Public(), t0.Add(time.Minute + skew), ErrExpired},
		{"screenshot an hour later", p, k.Public(), t0.Add(time.Hour), ErrExpired},
		{"not yet valid", p, k.Public(), t0.Add(-skew - time.Second), ErrExpired},
		{"another SM2 key", p, other.Public(), t0, ErrSignature},
		{"a P-256 key", p, p256.Public(), t0, ErrAlgorithm},
		{"an Ed25519 key", p, newKey(t, keys.Ed25519).Public(), t0, ErrAlgorithm},
		{"no key", p, nil, t0, ErrAlgorithm},
		{"claims altered", pt, k.Public(), t0, ErrSignature},
		{"signature altered", pf, k.Public(), t0, ErrSignature},
		{"kid altered", pk, k.Public(), t0, ErrSignature},
		{"not decoded", Parsed{Algorithm: keys.SM2SM3}, k.Public(), t0, ErrStructure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.p, tc.pub, tc.now, skew)
			if tc.want == nil && err != nil || !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestIndependentVerification checks the COSE_Sign1 without this
// package's verifier: the Sig_structure of RFC 9052 §4.4 is rebuilt here
// and checked with crypto/ecdsa and gmsm on r and s; and go-cose reads
// both payloads and verifies them, with its own ES256 verifier and with an
// SM2 one over gmsm.
func TestIndependentVerification(t *testing.T) {
	for _, alg := range []keys.Algorithm{keys.SM2SM3, keys.ECDSAP256} {
		t.Run(string(alg), func(t *testing.T) {
			k := newKey(t, alg)
			payload := encode(t, sampleClaims(), k)
			m := splitSign1(t, payload)
			tbs, err := cbor.Marshal([]any{"Signature1", m.Protected, []byte{}, m.Payload})
			if err != nil {
				t.Fatal(err)
			}
			r := new(big.Int).SetBytes(m.Signature[:32])
			s := new(big.Int).SetBytes(m.Signature[32:])
			pub := k.Public().(*ecdsa.PublicKey)
			switch alg {
			case keys.SM2SM3:
				// SM3(Z_A || M) with the default user ID, then r and s.
				h, err := sm2.CalculateSM2Hash(pub, tbs, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !sm2.Verify(pub, h, r, s) {
					t.Fatal("gmsm does not verify the SM2 signature over the Sig_structure")
				}
			case keys.ECDSAP256:
				h := sha256.Sum256(tbs)
				if !ecdsa.Verify(pub, h[:], r, s) {
					t.Fatal("crypto/ecdsa does not verify the ES256 signature over the Sig_structure")
				}
			}
			var v cose.Verifier = sm2Verifier{pub}
			if alg == keys.ECDSAP256 {
				var err error
				if v, err = cose.NewVerifier(cose.AlgorithmES256, pub); err != nil {
					t.Fatal(err)
				}
			}
			var msg cose.Sign1Message
			if err := msg.UnmarshalCBOR(unwrap(t, payload)); err != nil {
				t.Fatal(err)
			}
			if err := msg.Verify(nil, v); err != nil {
				t.Fatalf("go-cose: %v", err)
			}
			if kid := msg.Headers.Protected[cose.HeaderLabelKeyID]; !bytes.Equal(kid.([]byte), sampleKID) {
				t.Fatalf("go-cose reads kid %v", kid)
			}
		})
	}
}

// sm2Verifier verifies SM2-SM3 COSE signatures with gmsm alone, for
// go-cose.
type sm2Verifier struct{ pub *ecdsa.PublicKey }

func (sm2Verifier) Algorithm() cose.Algorithm { return cose.Algorithm(AlgSM2SM3) }

func (v sm2Verifier) Verify(content, sig []byte) error {
	h, err := sm2.CalculateSM2Hash(v.pub, content, nil)
	if err != nil {
		return err
	}
	if len(sig) != 64 || !sm2.Verify(v.pub, h, new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("SM2 signature does not verify")
	}
	return nil
}

// TestSignatureForms checks the r || s and DER conversions on integers
// with a high bit set, with leading zeros, and against encoding/asn1.
func TestSignatureForms(t *testing.T) {
	for _, raw := range [][]byte{
		bytes.Repeat([]byte{0xff}, 64),
		append(make([]byte, 31), bytes.Repeat([]byte{0x01}, 33)...),
		append(bytes.Repeat([]byte{0x7f}, 32), append([]byte{0, 0, 0x80}, make([]byte, 29)...)...),
	} {
		der := derOfRaw(raw)
		var rs struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) != 0 {
			t.Fatalf("DER %x: %v", der, err)
		}
		if rs.R.Cmp(new(big.Int).SetBytes(raw[:32])) != 0 || rs.S.Cmp(new(big.Int).SetBytes(raw[32:])) != 0 {
			t.Fatalf("DER %x is not %x", der, raw)
		}
		back, err := rawOfDER(der)
		if err != nil || !bytes.Equal(back, raw) {
			t.Fatalf("rawOfDER(%x) = %x, %v", der, back, err)
		}
	}
	for _, bad := range [][]byte{nil, {0x30, 0x00}, append(derOfRaw(bytes.Repeat([]byte{1}, 64)), 0)} {
		if _, err := rawOfDER(bad); err == nil {
			t.Errorf("rawOfDER(%x) accepted", bad)
		}
	}
}

// TestDecodeGoCOSE reads payloads whose COSE_Sign1 go-cose built and
// signed, with its own ES256 signer and with an SM2 one over gmsm.
func TestDecodeGoCOSE(t *testing.T) {
	for _, alg := range []keys.Algorithm{keys.SM2SM3, keys.ECDSAP256} {
		t.Run(string(alg), func(t *testing.T) {
			k := newKey(t, alg)
			var (
				s   cose.Signer
				err error
			)
			if alg == keys.SM2SM3 {
				s = sm2Signer{k.CryptoSigner().(*sm2.PrivateKey)}
			} else if s, err = cose.NewSigner(cose.AlgorithmES256, k.CryptoSigner()); err != nil {
				t.Fatal(err)
			}
			msg := cose.NewSign1Message()
			msg.Headers.Protected.SetAlgorithm(s.Algorithm())
			msg.Headers.Protected[cose.HeaderLabelKeyID] = sampleKID
			msg.Payload = mustMarshal(t, sampleClaims())
			if err := msg.Sign(rand.Reader, nil, s); err != nil {
				t.Fatal(err)
			}
			b, err := msg.MarshalCBOR()
			if err != nil {
				t.Fatal(err)
			}
			p := mustDecode(t, wrap(t, b))
			if _, err := Verify(p, k.Public(), t0, 0); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// sm2Signer signs SM2-SM3 COSE signatures with gmsm alone, for go-cose.
type sm2Signer struct{ priv *sm2.PrivateKey }

func (sm2Signer) Algorithm() cose.Algorithm { return cose.Algorithm(AlgSM2SM3) }

func (s sm2Signer) Sign(r io.Reader, content []byte) ([]byte, error) {
	der, err := s.priv.Sign(r, content, sm2.DefaultSM2SignerOpts)
	if err != nil {
		return nil, err
	}
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		return nil, err
	}
	sig := make([]byte, 64)
	rs.R.FillBytes(sig[:32])
	rs.S.FillBytes(sig[32:])
	return sig, nil
}
