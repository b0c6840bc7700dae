package vc

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/canon"
)

const (
	updateEnv = "ZHENGZHAO_UPDATE_VC"
	base      = "https://zz.example.gov.cn"
	keyURL    = base + "/api/v1/keys/key_status/public"
)

var (
	// The worked example of docs/license-format.md and its SM3 digest.
	sourceDoc    = filepath.Join("..", "license", "testdata", "business-license.json")
	sourceDigest = filepath.Join("..", "license", "testdata", "business-license.sm3")
	goldenVC     = filepath.Join("testdata", "business-license.vc.json")
	created      = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newCredential(t testing.TB) (*Credential, []byte) {
	t.Helper()
	doc := readFile(t, sourceDoc)
	c, err := New(doc, base)
	if err != nil {
		t.Fatal(err)
	}
	return c, doc
}

// TestGolden maps the worked example of the license format and compares
// the unsigned credential with testdata/business-license.vc.json, the
// example of docs/vc.md (rewritten with ZHENGZHAO_UPDATE_VC=1). It then
// checks the mapping member by member against the license as decoded.
func TestGolden(t *testing.T) {
	c, doc := newCredential(t)
	got, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if os.Getenv(updateEnv) != "" {
		if err := os.WriteFile(goldenVC, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want := readFile(t, goldenVC); !bytes.Equal(got, want) {
		t.Errorf("credential differs from %s (rewrite with %s=1 if the change is meant):\n%s", goldenVC, updateEnv, got)
	}

	d, err := license.Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	l, s := d.License, c.CredentialSubject
	checks := []struct{ what, got, want string }{
		{"id", c.ID, "urn:zhengzhao:license:" + l.ID + ":1"},
		{"issuer.id", c.Issuer.ID, "urn:uscc:" + l.Issuer.CreditCode},
		{"issuer.name", c.Issuer.Name, l.Issuer.Name},
		{"validFrom", c.ValidFrom, l.ValidFrom.Format(time.RFC3339)},
		{"validUntil", c.ValidUntil, l.ValidUntil.Format(time.RFC3339)},
		{"name", s.Name, l.Holder.Name},
		{"holderKind", s.HolderKind, string(l.Holder.Kind)},
		{"holderIdentifier", s.HolderIdentifier, l.Holder.Identifier},
		{"licenseId", s.LicenseID, l.ID},
		{"licenseNumber", s.LicenseNumber, l.Number},
		{"licenseType", s.LicenseType + "/" + strconv.FormatInt(s.LicenseTypeVersion, 10), l.Type.Code + "/" + strconv.FormatInt(l.Type.Version, 10)},
		{"licenseVersion", strconv.FormatInt(s.LicenseVersion, 10), strconv.FormatInt(l.Version, 10)},
		{"issuedAt", s.IssuedAt, l.IssuedAt.Format(time.RFC3339)},
		{"face", string(s.Face), string(l.Face)},
		{"evidence.dataHash", c.Evidence[0].DataHash, strings.TrimSpace(string(readFile(t, sourceDigest)))},
		{"relatedResource.id", c.RelatedResource[0].ID, base + "/api/v1/licenses/" + l.ID + "/versions/1/document"},
	}
	for i, e := range l.Status {
		cs := c.CredentialStatus[i]
		checks = append(checks,
			struct{ what, got, want string }{"credentialStatus purpose", string(cs.StatusPurpose), string(e.Purpose)},
			struct{ what, got, want string }{"statusListCredential", cs.StatusListCredential, e.ListURL},
			struct{ what, got, want string }{"statusListIndex", cs.StatusListIndex, strconv.FormatInt(e.Index, 10)},
			struct{ what, got, want string }{"entry id", cs.ID, e.ListURL + "#" + strconv.FormatInt(e.Index, 10)})
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.what, ch.got, ch.want)
		}
	}
	if err := c.Describes(doc); err != nil {
		t.Errorf("Describes(its own document) = %v", err)
	}
	// digestMultibase: "u", base64url of the multihash: the varint of
	// sm3-256 (0x534d in the multicodec table), the length, the digest.
	mh, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(c.RelatedResource[0].DigestMultibase, "u"))
	sum := sm3.Sum(doc)
	if want := append([]byte{0xcd, 0xa6, 0x01, 32}, sum[:]...); err != nil || !bytes.Equal(mh, want) {
		t.Errorf("digestMultibase = %x (%v), want %x", mh, err, want)
	}
}

func TestNewRefuses(t *testing.T) {
	doc := readFile(t, sourceDoc)
	changed := bytes.Replace(doc, []byte(`"version":1}`), []byte(`"version":1,"extra":1}`), 1)
	for _, tt := range []struct {
		name, base string
		doc        []byte
		want       error
	}{
		{"not a document", base, []byte(`{}`), license.ErrInvalid},
		{"unknown member", base, changed, license.ErrInvalid},
		{"relative base", "/zz", doc, nil},
		{"ftp base", "ftp://zz.example.gov.cn", doc, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.doc, tt.base)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("New error = %v, want %v", err, tt.want)
			}
		})
	}
}

func signedWith(t testing.TB, alg keys.Algorithm) ([]byte, *keys.SoftwareKey, []byte) {
	t.Helper()
	k, err := keys.GenerateSoftware(alg, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, doc := newCredential(t)
	out, err := Secure(context.Background(), c, statuslist.ProofOptions{VerificationMethod: keyURL, Created: created}, k)
	if err != nil {
		t.Fatal(err)
	}
	return out, k, doc
}

// TestSecureAndVerify signs with each suite, verifies, and changes the
// signed credential in ways that must fail.
func TestSecureAndVerify(t *testing.T) {
	for _, tt := range []struct {
		alg   keys.Algorithm
		suite string
	}{
		{keys.SM2SM3, statuslist.SuiteSM2JCS},
		{keys.ECDSAP256, statuslist.SuiteECDSAJCS2019},
	} {
		t.Run(string(tt.alg), func(t *testing.T) {
			signed, k, doc := signedWith(t, tt.alg)
			c, err := Verify(signed, k.Public())
			if err != nil {
				t.Fatalf("Verify = %v", err)
			}
			if c.Proof.Cryptosuite != tt.suite || c.Proof.VerificationMethod != keyURL || c.Proof.Created != "2026-11-30T08:00:00Z" {
				t.Errorf("proof = %+v", c.Proof)
			}
			if err := c.Describes(doc); err != nil {
				t.Errorf("Describes = %v", err)
			}
			other, err := keys.GenerateSoftware(tt.alg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Verify(signed, other.Public()); !errors.Is(err, statuslist.ErrVerification) {
				t.Errorf("Verify with another key = %v, want ErrVerification", err)
			}
			// Every single changed byte of content fails, wherever it is:
			// one in each member, picked by its position in the JSON.
			for _, change := range []struct{ old, new string }{
				{`"name":"福州闽江示例科技有限公司"`, `"name":"福州闽江示例科技有限公讨"`},
				{`"holderIdentifier":"91350100M000100Y43"`, `"holderIdentifier":"91350100M000100Y44"`},
				{`"statusListIndex":"41"`, `"statusListIndex":"42"`},
				{`"validUntil":"2046`, `"validUntil":"2047`},
				{`"licenseTypeVersion":1`, `"licenseTypeVersion":2`},
				{`"legal_representative":"林晓峰"`, `"legal_representative":"林晓锋"`},
				{`"dataHash":"4c2b`, `"dataHash":"4c2c`},
				{`"created":"2026-11-30T08:00:00Z"`, `"created":"2026-11-30T08:00:01Z"`},
			} {
				if !bytes.Contains(signed, []byte(change.old)) {
					t.Fatalf("the credential has no %s", change.old)
				}
				tampered := bytes.Replace(signed, []byte(change.old), []byte(change.new), 1)
				if _, err := Verify(tampered, k.Public()); !errors.Is(err, statuslist.ErrVerification) {
					t.Errorf("Verify after %s -> %s = %v, want ErrVerification", change.old, change.new, err)
				}
			}
		})
	}
}

// TestVerifyReadsStrictly signs documents that are not the credential New
// makes: the proof verifies, the reading refuses them.
func TestVerifyReadsStrictly(t *testing.T) {
	k, err := keys.GenerateSoftware(keys.SM2SM3, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newCredential(t)
	unsigned, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(doc []byte) []byte {
		p, err := statuslist.CreateProof(context.Background(), doc, statuslist.ProofOptions{VerificationMethod: keyURL}, k)
		if err != nil {
			t.Fatal(err)
		}
		proof, _ := json.Marshal(p)
		return append(append(bytes.TrimSuffix(bytes.Clone(doc), []byte("}")), `,"proof":`...), append(proof, '}')...)
	}
	if _, err := Verify(sign(unsigned), k.Public()); err != nil {
		t.Fatalf("the credential as New makes it: %v", err)
	}
	replace := func(old, new string) []byte {
		if !bytes.Contains(unsigned, []byte(old)) {
			t.Fatalf("no %s", old)
		}
		return bytes.Replace(unsigned, []byte(old), []byte(new), 1)
	}
	for name, doc := range map[string][]byte{
		"unknown member":         replace(`"validFrom"`, `"extra":1,"validFrom"`),
		"member in another case": replace(`"validFrom"`, `"ValidFrom"`),
		"empty validUntil":       replace(`"validUntil":"2046-11-22T16:00:00Z"`, `"validUntil":""`),
		"another type":           replace(`"ZhengzhaoLicense"`, `"OtherLicense"`),
		"one status entry":       []byte(strings.Replace(string(unsigned), string(mustJSON(t, c.CredentialStatus)), string(mustJSON(t, c.CredentialStatus[:1])), 1)),
		"another context":        replace(`{"@vocab":"`+Vocabulary+`"}`, `"https://example.org/ctx"`),
		"id of another version":  replace(`:1","type"`, `:2","type"`),
		"not an object":          []byte(`[]`),
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			if name == "not an object" {
				_, err = Verify(doc, k.Public())
			} else {
				_, err = Verify(sign(doc), k.Public())
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, statuslist.ErrVerification) {
				t.Errorf("Verify = %v, want ErrMalformed", err)
			}
			if name != "not an object" && errors.Is(err, statuslist.ErrVerification) {
				t.Errorf("Verify = %v: the proof itself is good", err)
			}
		})
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDescribesRefuses checks a credential against a document it does not
// restate.
func TestDescribesRefuses(t *testing.T) {
	c, doc := newCredential(t)
	other := *c
	other.CredentialSubject.Name = "别的公司"
	if err := other.Describes(doc); !errors.Is(err, ErrMalformed) {
		t.Errorf("Describes with another name = %v, want ErrMalformed", err)
	}
	// The same content written with other white space is another resource:
	// its digests differ.
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, doc, "", " "); err != nil {
		t.Fatal(err)
	}
	if err := c.Describes(pretty.Bytes()); !errors.Is(err, ErrMalformed) {
		t.Errorf("Describes(the document re-indented) = %v, want ErrMalformed", err)
	}
	noResource := *c
	noResource.RelatedResource = nil
	if err := noResource.Describes(doc); !errors.Is(err, ErrMalformed) {
		t.Errorf("Describes without a related resource = %v", err)
	}
}

// TestECDSAProofIndependently checks an ecdsa-jcs-2019 proof without the
// statuslist package's verification code: the proof configuration and the
// credential are canonicalized (RFC 8785, whose implementation the W3C
// vectors of statuslist/testdata check), hashed with SHA-256 as
// "Data Integrity ECDSA Cryptosuites v1.0" §3.3.4 says, and the r||s of
// proofValue, decoded from base58btc here, verified with crypto/ecdsa.
func TestECDSAProofIndependently(t *testing.T) {
	signed, k, _ := signedWith(t, keys.ECDSAP256)
	var members map[string]json.RawMessage
	if err := json.Unmarshal(signed, &members); err != nil {
		t.Fatal(err)
	}
	var proof map[string]json.RawMessage
	if err := json.Unmarshal(members["proof"], &proof); err != nil {
		t.Fatal(err)
	}
	var value string
	if err := json.Unmarshal(proof["proofValue"], &value); err != nil || !strings.HasPrefix(value, "z") {
		t.Fatalf("proofValue %q", value)
	}
	delete(proof, "proofValue")
	delete(members, "proof")
	if string(proof["@context"]) != string(members["@context"]) {
		t.Errorf("proof @context %s, want the credential's %s", proof["@context"], members["@context"])
	}
	hash := func(v any) []byte {
		c, err := canon.JSON(v)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(c)
		return h[:]
	}
	hashData := append(hash(proof), hash(members)...)
	digest := sha256.Sum256(hashData)
	sig := base58(t, value[1:])
	if len(sig) != 64 {
		t.Fatalf("signature of %d bytes", len(sig))
	}
	pub, ok := k.Public().(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("public key %T", k.Public())
	}
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Errorf("crypto/ecdsa does not verify the proof over %s", hex.EncodeToString(hashData))
	}
}

// base58 decodes base58btc (Bitcoin alphabet), written here rather than
// taken from statuslist so that the check stays independent.
func base58(t *testing.T, s string) []byte {
	t.Helper()
	const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	n := new(big.Int)
	for _, r := range s {
		i := strings.IndexRune(alphabet, r)
		if i < 0 {
			t.Fatalf("%q is not base58btc", r)
		}
		n.Mul(n, big.NewInt(58)).Add(n, big.NewInt(int64(i)))
	}
	zeros := len(s) - len(strings.TrimLeft(s, "1"))
	return append(make([]byte, zeros), n.Bytes()...)
}

// TestBatchSignedEvidence: the credential of a batch-signed license names
// as its evidence's dataHash what the seal signed, the SM3 of the batch
// header (docs/license-format.md, "Batch signatures"), not the license's
// own digest.
func TestBatchSignedEvidence(t *testing.T) {
	c, err := New(readFile(t, filepath.Join("..", "license", "testdata", "batch-license-2.json")), base)
	if err != nil {
		t.Fatal(err)
	}
	const header = "3b2bde177b59c9aa556971d92c8cd0c48c3c00eed475dc50abd23054f9b447a5" // batch-vectors.txt
	if got := c.Evidence[0].DataHash; got != header {
		t.Errorf("evidence dataHash %s, want the batch header's SM3 %s", got, header)
	}
}
