package qr

import (
	"bytes"
	"compress/zlib"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// t0 is when the sample payload is shown.
var t0 = time.Date(2026, 11, 30, 9, 30, 0, 0, time.UTC)

// seeded returns a deterministic reader, one stream per n, so that the
// golden payload is reproducible.
func seeded(n byte) io.Reader {
	var seed [32]byte
	copy(seed[:], "zhengzhao qr payload seed")
	seed[31] = n
	return rand.NewChaCha8(seed)
}

// sm2Key is the presentation key of the worked example: an SM2 key drawn
// from seeded(1) that signs with seeded(2).
func sm2Key(t testing.TB) *keys.SoftwareKey {
	t.Helper()
	k, err := keys.GenerateSoftware(keys.SM2SM3, seeded(1))
	if err != nil {
		t.Fatal(err)
	}
	return k.WithRand(seeded(2))
}

// newKey returns a fresh key of alg.
func newKey(t testing.TB, alg keys.Algorithm) *keys.SoftwareKey {
	t.Helper()
	k, err := keys.GenerateSoftware(alg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sampleKID is the key identifier of the worked example.
var sampleKID = []byte("zz-present-2026-1")

// sampleClaims are the claims of the worked example: the business license
// of docs/license-format.md, its holder showing the name, the credit code
// and the legal representative.
func sampleClaims() Claims {
	c := Claims{
		Issuer:         "https://zz.example.gov.cn",
		IssuedAt:       t0,
		LicenseID:      "BL000111350102003603210T00000000425",
		TypeCode:       "BL0001",
		TypeVersion:    1,
		IssuerCode:     "11350102003603210T",
		Holder:         "福州闽江示例科技有限公司",
		Fields:         map[string]any{"credit_code": "91350100M000100Y43", "name": "福州闽江示例科技有限公司", "legal_representative": "林*峰"},
		RevocationList: "https://zz.example.gov.cn/status/11350102003603210T/revocation/1",
		SuspensionList: "https://zz.example.gov.cn/status/11350102003603210T/suspension/1",
		StatusIndex:    41,
	}
	for i := range c.Nonce {
		c.Nonce[i] = byte(0xa0 + i)
	}
	return c
}

// wrap compresses b and encodes it as a payload, so tests can hand Decode
// content the encoder would never write.
func wrap(t testing.TB, b []byte) string {
	t.Helper()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return Prefix + base45Encode(z.Bytes())
}

// unwrap undoes wrap on a payload, without the package's checks.
func unwrap(t testing.TB, payload string) []byte {
	t.Helper()
	z, err := base45Decode(payload[len(Prefix):])
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// splitSign1 reads the COSE_Sign1 of a payload.
func splitSign1(t testing.TB, payload string) sign1 {
	t.Helper()
	var tag cbor.RawTag
	if err := cbor.Unmarshal(unwrap(t, payload), &tag); err != nil {
		t.Fatal(err)
	}
	if tag.Number != 18 {
		t.Fatalf("tag %d, want 18", tag.Number)
	}
	var m sign1
	if err := cbor.Unmarshal(tag.Content, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// joinSign1 builds a payload from the parts of a COSE_Sign1.
func joinSign1(t testing.TB, m sign1) string {
	t.Helper()
	if m.Unprotected == nil {
		m.Unprotected = emptyMap
	}
	b, err := detEnc.Marshal(cbor.Tag{Number: 18, Content: m})
	if err != nil {
		t.Fatal(err)
	}
	return wrap(t, b)
}

// mustCBOR encodes v deterministically.
func mustCBOR(t testing.TB, v any) []byte {
	t.Helper()
	b, err := detEnc.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
