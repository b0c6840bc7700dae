package statuslist

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/canon"
)

// Multicodec prefixes (unsigned varints) of the Multikey values in
// testdata/ecdsa-jcs-2019-p256/p256KeyPair.json.
var (
	multicodecP256Pub  = []byte{0x80, 0x24} // p256-pub, compressed point
	multicodecP256Priv = []byte{0x86, 0x26} // p256-priv, 32-byte scalar
)

// vectorKey returns the key pair of the W3C test vectors, checking that
// the published public key belongs to the published secret key.
func vectorKey(t *testing.T) *keys.SoftwareKey {
	t.Helper()
	var pair struct {
		Public string `json:"publicKeyMultibase"`
		Secret string `json:"secretKeyMultibase"`
	}
	if err := json.Unmarshal([]byte(readVector(t, "p256KeyPair.json")), &pair); err != nil {
		t.Fatal(err)
	}
	secret, err := decodeBase58(strings.TrimPrefix(pair.Secret, "z"))
	if err != nil || !bytes.HasPrefix(secret, multicodecP256Priv) {
		t.Fatalf("secretKeyMultibase: %x, %v", secret, err)
	}
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), secret[len(multicodecP256Priv):])
	if err != nil {
		t.Fatal(err)
	}
	point, err := priv.PublicKey.Bytes() // 04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	compressed := append([]byte{2 | point[64]&1}, point[1:33]...)
	if got := "z" + encodeBase58(append(bytes.Clone(multicodecP256Pub), compressed...)); got != pair.Public {
		t.Fatalf("public key of the secret key = %s, want %s", got, pair.Public)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.ParseSoftwarePKCS8(keys.ECDSAP256, der)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestECDSAJCS2019Vectors checks every intermediate value of the
// ecdsa-jcs-2019 P-256 example of "Data Integrity ECDSA Cryptosuites
// v1.0" appendix A (testdata/SOURCE.md), verifies the published signed
// credential, and signs the same credential again.
func TestECDSAJCS2019Vectors(t *testing.T) {
	key := vectorKey(t)
	signed := []byte(readVector(t, "signedJCSECDSAP256.json"))

	var members map[string]json.RawMessage
	if err := json.Unmarshal(signed, &members); err != nil {
		t.Fatal(err)
	}
	var published Proof
	if err := json.Unmarshal(members["proof"], &published); err != nil {
		t.Fatal(err)
	}
	delete(members, "proof")
	unsigned, err := json.Marshal(members)
	if err != nil {
		t.Fatal(err)
	}

	for _, step := range []struct {
		what, canonFile, hashFile string
		input                     []byte
	}{
		{"document", "canonDocJCSECDSAP256.txt", "docHashJCSECDSAP256.txt", unsigned},
		{"proof configuration", "proofCanonJCSECDSAP256.txt", "proofHashJCSECDSAP256.txt", []byte(readVector(t, "proofConfigJCSECDSAP256.json"))},
	} {
		c, err := canon.Transform(step.input)
		if err != nil {
			t.Fatal(err)
		}
		if want := readVector(t, step.canonFile); string(c) != want {
			t.Errorf("canonical %s = %s\nwant %s", step.what, c, want)
		}
		h := sha256.Sum256(c)
		if got, want := hex.EncodeToString(h[:]), readVector(t, step.hashFile); got != want {
			t.Errorf("%s hash = %s, want %s", step.what, got, want)
		}
	}
	ecdsaSuite, _ := suiteNamed(SuiteECDSAJCS2019)
	combined, err := hashData(ecdsaSuite, []byte(readVector(t, "proofConfigJCSECDSAP256.json")), unsigned)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(combined), readVector(t, "combinedHashJCSECDSAP256.txt"); got != want {
		t.Errorf("hashData = %s, want %s", got, want)
	}

	// The published signature verifies over the published hash data.
	sig, _ := hex.DecodeString(readVector(t, "sigHexJCSECDSAP256.txt"))
	der, err := rawToDER(sig)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Verify(keys.ECDSAP256, key.Public(), combined, der); err != nil {
		t.Errorf("published signature over hashData: %v", err)
	}
	// The vectors were made with deterministic ECDSA (RFC 6979), which Go
	// uses when no randomness is given: the same key signing SHA-256 of
	// hashData reproduces the published signature byte for byte.
	digest := sha256.Sum256(combined)
	detDER, err := key.CryptoSigner().Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if det, err := derToRaw(detDER); err != nil || !bytes.Equal(det, sig) {
		t.Errorf("deterministic signature = %x (%v), want the published %x", det, err, sig)
	}
	p, err := VerifyProof(signed, key.Public())
	if err != nil {
		t.Fatalf("VerifyProof(published credential) error = %v", err)
	}
	if p.Created != "2023-02-24T23:36:38Z" || p.Cryptosuite != SuiteECDSAJCS2019 {
		t.Errorf("VerifyProof = %+v", p)
	}

	// Signing the same credential with the same options gives the same
	// proof but for proofValue (ECDSA here is randomized), and it verifies.
	created, _ := parseTime(published.Created)
	mine, err := CreateProof(context.Background(), unsigned, ProofOptions{VerificationMethod: published.VerificationMethod, Created: created}, key)
	if err != nil {
		t.Fatal(err)
	}
	want := published
	want.ProofValue = mine.ProofValue
	if !jsonEqual(t, mine, want) {
		t.Errorf("CreateProof = %+v\nwant %+v", mine, want)
	}
	members["proof"], _ = json.Marshal(mine)
	resigned, _ := json.Marshal(members)
	if _, err := VerifyProof(resigned, key.Public()); err != nil {
		t.Errorf("VerifyProof(re-signed) error = %v", err)
	}
}

// TestVerifyProofRefuses alters the published credential in the ways a
// verifier must notice.
func TestVerifyProofRefuses(t *testing.T) {
	key := vectorKey(t)
	signed := readVector(t, "signedJCSECDSAP256.json")
	other, err := keys.GenerateSoftware(keys.ECDSAP256, nil)
	if err != nil {
		t.Fatal(err)
	}
	sm2, err := keys.GenerateSoftware(keys.SM2SM3, nil)
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) string {
		if !strings.Contains(signed, old) {
			t.Fatalf("the vector has no %q", old)
		}
		return strings.Replace(signed, old, new, 1)
	}
	tests := []struct {
		name string
		doc  string
		pub  any
	}{
		{"wrong key", signed, other.Public()},
		{"key of another algorithm", signed, sm2.Public()},
		{"document changed", replace("The School of Examples", "The School of Exemples"), key.Public()},
		{"member added", replace(`"name": "Alumni Credential",`, `"name": "Alumni Credential", "extra": 1,`), key.Public()},
		{"proof created changed", replace(`"created": "2023-02-24T23:36:38Z"`, `"created": "2023-02-24T23:36:39Z"`), key.Public()},
		{"proof purpose", replace(`"proofPurpose": "assertionMethod"`, `"proofPurpose": "authentication"`), key.Public()},
		{"cryptosuite", replace(`"cryptosuite": "ecdsa-jcs-2019"`, `"cryptosuite": "ecdsa-rdfc-2019"`), key.Public()},
		{"sm2 suite name on an ECDSA proof", replace(`"cryptosuite": "ecdsa-jcs-2019"`, `"cryptosuite": "`+SuiteSM2JCS+`"`), key.Public()},
		{"proof type", replace(`"type": "DataIntegrityProof"`, `"type": "Ed25519Signature2020"`), key.Public()},
		{"proofValue not base58btc", replace(`"proofValue": "z`, `"proofValue": "u`), key.Public()},
		{"proofValue truncated", replace(`D5oT"`, `"`), key.Public()},
		{"document context not the proof's", replace(`"https://www.w3.org/ns/credentials/examples/v2"
  ],
  "id"`, `"https://example.org/other"
  ],
  "id"`), key.Public()},
		{"member named like another but for case", replace(`"cryptosuite": "ecdsa-jcs-2019",`, `"cryptosuite": "ecdsa-jcs-2019", "Cryptosuite": "ecdsa-jcs-2019",`), key.Public()},
		{"duplicate member", replace(`"name": "Alumni Credential",`, `"name": "Alumni Credential", "name": "Other",`), key.Public()},
		{"no proof", `{"@context": ["https://www.w3.org/ns/credentials/v2"]}`, key.Public()},
		{"proof set", strings.TrimSuffix(replace(`"proof": {`, `"proof": [{`), "}\n}") + "}]\n}", key.Public()},
		{"not an object", `[1, 2]`, key.Public()},
		{"not JSON", `{"proof":`, key.Public()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := VerifyProof([]byte(tt.doc), tt.pub); !errors.Is(err, ErrVerification) {
				t.Errorf("VerifyProof error = %v, want ErrVerification", err)
			}
		})
	}
	if _, err := VerifyProof([]byte(signed), key.Public()); err != nil {
		t.Fatalf("the unaltered vector does not verify: %v", err)
	}
}

func TestCreateProofRefuses(t *testing.T) {
	ed, err := keys.GenerateSoftware(keys.Ed25519, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateProof(context.Background(), []byte(`{}`), ProofOptions{VerificationMethod: "https://x.example/k"}, ed); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("CreateProof with Ed25519 error = %v, want ErrUnsupportedKey", err)
	}
	sm2, err := keys.GenerateSoftware(keys.SM2SM3, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{`{"proof":{}}`, `[]`, `{"a":1,"a":2}`} {
		if _, err := CreateProof(context.Background(), []byte(doc), ProofOptions{VerificationMethod: "https://x.example/k"}, sm2); !errors.Is(err, ErrMalformed) {
			t.Errorf("CreateProof(%s) error = %v, want ErrMalformed", doc, err)
		}
	}
	if _, err := CreateProof(context.Background(), []byte(`{}`), ProofOptions{}, sm2); err == nil {
		t.Error("CreateProof without a verification method succeeded")
	}
}

func TestSignatureForms(t *testing.T) {
	for _, alg := range []keys.Algorithm{keys.SM2SM3, keys.ECDSAP256} {
		k, err := keys.GenerateSoftware(alg, nil)
		if err != nil {
			t.Fatal(err)
		}
		for range 20 { // r and s sometimes have leading zero bytes
			der, err := k.Sign(context.Background(), []byte("m"))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := derToRaw(der)
			if err != nil || len(raw) != 64 {
				t.Fatalf("derToRaw = %d bytes, %v", len(raw), err)
			}
			back, err := rawToDER(raw)
			if err != nil || !bytes.Equal(back, der) {
				t.Fatalf("rawToDER(derToRaw(der)) differs (%v)", err)
			}
		}
	}
	for _, bad := range [][]byte{nil, {0x30, 0x00}, {0x30, 0x03, 0x02, 0x01, 0x00}} {
		if _, err := derToRaw(bad); err == nil {
			t.Errorf("derToRaw(%x) succeeded", bad)
		}
	}
}

// parseTime parses an XML Schema date-time as the vectors write it.
func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339, s) }

// jsonEqual compares two values by their JSON encoding.
func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	x, err := canon.JSON(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := canon.JSON(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}
