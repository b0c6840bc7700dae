package pkcs11_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/pkcs11"
	"github.com/zhengzhao/zhengzhao/internal/keys/pkcs11/softhsmtest"
)

// ckkECEdwards is CKK_EC_EDWARDS (PKCS#11 3.0); github.com/miekg/pkcs11
// v1.1.2 lacks it.
const ckkECEdwards = 0x40

// generateEd25519 creates an Ed25519 key on tok or fails the test.
func generateEd25519(t testing.TB, tok *pkcs11.Token, id string) *pkcs11.Key {
	t.Helper()
	k, err := tok.Generate(context.Background(), keys.Ed25519, id)
	if err != nil {
		t.Fatalf("Generate(%s, %q) = %v, want nil error", keys.Ed25519, id, err)
	}
	return k
}

// verifyEd25519 checks sig with crypto/ed25519 and with keys.Verify.
func verifyEd25519(t *testing.T, pub any, msg, sig []byte) {
	t.Helper()
	edPub, ok := pub.(ed25519.PublicKey)
	if !ok || len(edPub) != ed25519.PublicKeySize {
		t.Fatalf("Public() = %T (%d bytes), want a %d-byte ed25519.PublicKey", pub, len(edPub), ed25519.PublicKeySize)
	}
	if len(sig) != ed25519.SignatureSize {
		t.Errorf("signature is %d bytes, want %d", len(sig), ed25519.SignatureSize)
	}
	if !ed25519.Verify(edPub, msg, sig) {
		t.Errorf("ed25519.Verify() = false, want true")
	}
	if err := keys.Verify(keys.Ed25519, pub, msg, sig); err != nil {
		t.Errorf("keys.Verify(Ed25519) = %v, want nil", err)
	}
}

func TestEd25519GenerateSignVerify(t *testing.T) {
	_, tok := openToken(t)
	ctx := context.Background()
	k := generateEd25519(t, tok, "seal-ed-001")
	if got, want := k.Algorithm(), keys.Ed25519; got != want {
		t.Errorf("Algorithm() = %s, want %s", got, want)
	}
	if got, want := k.ID(), "seal-ed-001"; got != want {
		t.Errorf("ID() = %q, want %q", got, want)
	}

	tests := []struct {
		name string
		msg  []byte
	}{
		{"empty", nil},
		{"short", []byte(`{"licence":"营业执照"}`)},
		{"1 KiB", bytes.Repeat([]byte{0xA5}, 1024)},
		{"64 KiB", bytes.Repeat([]byte{0x5A}, 64<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := k.Sign(ctx, tt.msg)
			if err != nil {
				t.Fatalf("Sign() = %v, want nil error", err)
			}
			verifyEd25519(t, k.Public(), tt.msg, sig)
			// Ed25519 is deterministic: the token must not add randomness.
			again, err := k.Sign(ctx, tt.msg)
			if err != nil {
				t.Fatalf("second Sign() = %v", err)
			}
			if !bytes.Equal(sig, again) {
				t.Errorf("two signatures of the same message differ; Ed25519 is deterministic")
			}
			tampered := append(append([]byte{}, tt.msg...), 'x')
			if err := keys.Verify(keys.Ed25519, k.Public(), tampered, sig); !errors.Is(err, keys.ErrBadSignature) {
				t.Errorf("keys.Verify(tampered) = %v, want ErrBadSignature", err)
			}
		})
	}
}

// TestFindBothAlgorithmsAfterReopen keeps ECDSA and Ed25519 keys on one
// token and finds each, with its algorithm, through a freshly opened Token.
func TestFindBothAlgorithmsAfterReopen(t *testing.T) {
	cfg, tok := openToken(t)
	ctx := context.Background()
	long := strings.Repeat("e", 64) // the longest id allowed
	made := map[string]*pkcs11.Key{
		"ed-a": generateEd25519(t, tok, "ed-a"),
		"ec-a": generate(t, tok, "ec-a"),
		"ed-b": generateEd25519(t, tok, "ed-b"),
		long:   generateEd25519(t, tok, long),
	}
	if err := tok.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}

	tok2, err := pkcs11.Open(cfg)
	if err != nil {
		t.Fatalf("reopen: Open() = %v", err)
	}
	defer tok2.Close()
	for id, orig := range made {
		t.Run(id[:min(len(id), 8)], func(t *testing.T) {
			k, err := tok2.Find(ctx, id)
			if err != nil {
				t.Fatalf("Find(%q) = %v, want nil error", id, err)
			}
			if got, want := k.Algorithm(), orig.Algorithm(); got != want {
				t.Errorf("Find(%q).Algorithm() = %s, want %s", id, got, want)
			}
			msg := []byte("signed after reopening " + id)
			sig, err := k.Sign(ctx, msg)
			if err != nil {
				t.Fatalf("Sign() = %v", err)
			}
			// The public key generated before closing must verify.
			if err := keys.Verify(orig.Algorithm(), orig.Public(), msg, sig); err != nil {
				t.Errorf("keys.Verify with the generated public key = %v, want nil", err)
			}
			if orig.Algorithm() == keys.Ed25519 {
				verifyEd25519(t, k.Public(), msg, sig)
			}
		})
	}
}

func TestEd25519ConcurrentSign(t *testing.T) {
	_, tok := openToken(t)
	ctx := context.Background()
	k := generateEd25519(t, tok, "seal-ed-busy")
	ec := generate(t, tok, "seal-ec-busy")
	// More workers than the raw session pool holds, so some wait.
	const workers, perWorker = 12, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				msg := fmt.Appendf(nil, "licence %d/%d", w, i)
				signer := keys.Signer(k)
				if i%5 == 0 {
					signer = ec
				}
				sig, err := signer.Sign(ctx, msg)
				if err == nil {
					err = keys.Verify(signer.Algorithm(), signer.Public(), msg, sig)
				}
				if err != nil {
					errs <- fmt.Errorf("worker %d, message %d (%s): %w", w, i, signer.Algorithm(), err)
				}
				if i%7 == 0 {
					if _, err := tok.Find(ctx, "seal-ed-busy"); err != nil {
						errs <- fmt.Errorf("worker %d: Find: %w", w, err)
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestEd25519MadeElsewhere finds key pairs another tool generated with raw
// PKCS#11 calls, including one whose public key object uses the other
// encodings PKCS#11 3.0 allows (curve name, bare 32-byte point).
func TestEd25519MadeElsewhere(t *testing.T) {
	tests := []struct {
		name string
		alt  bool
	}{
		{"OID and DER point", false},
		{"curve name and bare point", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := softhsmtest.New(t)
			const id = "ed25519-by-other-tool"
			pub := ed25519OnToken(t, cfg, id, tt.alt)

			tok, err := pkcs11.Open(cfg)
			if err != nil {
				t.Fatalf("Open() = %v", err)
			}
			defer tok.Close()
			ctx := context.Background()
			k, err := tok.Find(ctx, id)
			if err != nil {
				t.Fatalf("Find(%q) = %v, want nil error", id, err)
			}
			if !pub.Equal(k.Public()) {
				t.Errorf("Find().Public() = %x, want %x", k.Public(), pub)
			}
			msg := []byte("signed through Token for another tool's key")
			sig, err := k.Sign(ctx, msg)
			if err != nil {
				t.Fatalf("Sign() = %v", err)
			}
			verifyEd25519(t, pub, msg, sig)
			if _, err := tok.Generate(ctx, keys.Ed25519, id); !errors.Is(err, pkcs11.ErrKeyExists) {
				t.Errorf("Generate(existing Ed25519 id) = %v, want ErrKeyExists", err)
			}
		})
	}
}

// TestEd25519Duplicates: two Ed25519 pairs under one id must not be used.
func TestEd25519Duplicates(t *testing.T) {
	cfg := softhsmtest.New(t)
	const id = "twice"
	ed25519OnToken(t, cfg, id, false)
	ed25519OnToken(t, cfg, id, false)
	tok, err := pkcs11.Open(cfg)
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	defer tok.Close()
	if _, err := tok.Find(context.Background(), id); err == nil || !strings.Contains(err.Error(), "2 key pairs share this id") {
		t.Errorf("Find(duplicated id) = %v, want an error counting 2 key pairs", err)
	}
}

func TestEd25519MissingMechanism(t *testing.T) {
	tests := []struct {
		name   string
		forget uint
		want   string
	}{
		{"no CKM_EDDSA", pkcs11.CKMEdDSA, "CKM_EDDSA"},
		{"no CKM_EC_EDWARDS_KEY_PAIR_GEN", pkcs11.CKMECEdwardsKeyPairGen, "CKM_EC_EDWARDS_KEY_PAIR_GEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, tok := openToken(t)
			ctx := context.Background()
			generateEd25519(t, tok, "made-before")
			pkcs11.ForgetMechanism(tok, tt.forget)
			_, err := tok.Generate(ctx, keys.Ed25519, "made-after")
			if !errors.Is(err, pkcs11.ErrUnsupported) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Generate(Ed25519) = %v, want ErrUnsupported naming %s", err, tt.want)
			}
			if _, err := tok.Find(ctx, "made-after"); !errors.Is(err, pkcs11.ErrKeyNotFound) {
				t.Errorf("Find(refused id) = %v, want ErrKeyNotFound: nothing may be left on the token", err)
			}
			_, err = tok.Find(ctx, "made-before")
			if canSign := tt.forget != pkcs11.CKMEdDSA; canSign != (err == nil) {
				t.Errorf("Find(existing key) = %v; want an error only when CKM_EDDSA is missing", err)
			}
			if err != nil && !errors.Is(err, pkcs11.ErrUnsupported) {
				t.Errorf("Find(existing key) = %v, want ErrUnsupported", err)
			}
			// ECDSA does not depend on the EdDSA mechanisms.
			generate(t, tok, "ecdsa-still-works")
		})
	}
}

func TestParseEd25519Public(t *testing.T) {
	key := bytes.Repeat([]byte{0x42}, ed25519.PublicKeySize)
	der := func(v any) []byte {
		b, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	printable := func(s string) []byte {
		return der(asn1.RawValue{Tag: asn1.TagPrintableString, Bytes: []byte(s)})
	}
	oid := der(asn1.ObjectIdentifier{1, 3, 101, 112})
	tests := []struct {
		name    string
		params  []byte
		point   []byte
		wantErr string // "" for success
		wantIs  error
	}{
		{"OID, DER point", oid, der(key), "", nil},
		{"OID, bare point", oid, key, "", nil},
		{"curve name, DER point", printable("edwards25519"), der(key), "", nil},
		{"curve name, bare point", printable("edwards25519"), key, "", nil},
		{"Ed448 OID", der(asn1.ObjectIdentifier{1, 3, 101, 113}), der(key), "1.3.101.113", pkcs11.ErrUnsupported},
		{"Ed448 name", printable("edwards448"), der(key), "edwards448", pkcs11.ErrUnsupported},
		{"no params", nil, der(key), "no CKA_EC_PARAMS", nil},
		{"params garbage", []byte{0xff, 0x00}, der(key), "neither", nil},
		{"params with trailing byte", append(bytes.Clone(oid), 0), der(key), "neither", nil},
		{"point 31 bytes", oid, key[:31], "not a DER OCTET STRING", nil},
		{"DER point 31 bytes", oid, der(key[:31]), "holds 31 bytes", nil},
		{"DER point 33 bytes", oid, der(append(bytes.Clone(key), 1)), "holds 33 bytes", nil},
		{"DER point with trailing byte", oid, append(der(key), 0), "not a DER OCTET STRING", nil},
		{"empty point", oid, nil, "not a DER OCTET STRING", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pkcs11.ParseEd25519Public(tt.params, tt.point)
			if tt.wantErr == "" {
				if err != nil || !bytes.Equal(got, key) {
					t.Fatalf("ParseEd25519Public() = %x, %v; want %x, nil", got, err, key)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseEd25519Public() = %x, %v; want an error containing %q", got, err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("ParseEd25519Public() = %v, want error wrapping %v", err, tt.wantIs)
			}
		})
	}
}

func TestEd25519CryptoSignerOptions(t *testing.T) {
	_, tok := openToken(t)
	k := generateEd25519(t, tok, "ed-opts")
	cs := k.CryptoSigner()
	msg := []byte("whole message")
	tests := []struct {
		name   string
		opts   *ed25519.Options
		wantIs error
	}{
		{"hash 0", &ed25519.Options{}, nil},
		{"Ed25519ph", &ed25519.Options{Hash: crypto.SHA512}, pkcs11.ErrUnsupported},
		{"Ed25519ctx", &ed25519.Options{Context: "zz"}, pkcs11.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := cs.Sign(nil, msg, tt.opts)
			if !errors.Is(err, tt.wantIs) || (tt.wantIs == nil) != (err == nil) {
				t.Fatalf("CryptoSigner().Sign() = %v, want %v", err, tt.wantIs)
			}
			if err == nil {
				verifyEd25519(t, cs.Public(), msg, sig)
			}
		})
	}
}

// ed25519OnToken generates an Ed25519 key pair on the token with raw
// PKCS#11 calls, as another tool sharing the token might, and returns its
// public key. With alt it replaces the public key object with one holding
// the other encodings PKCS#11 3.0 allows: CKA_EC_PARAMS as the curve name
// and CKA_EC_POINT as the bare 32 bytes. It unloads the module before
// returning, so crypto11 can load it afresh; call it before pkcs11.Open.
func ed25519OnToken(t *testing.T, cfg pkcs11.Config, id string, alt bool) ed25519.PublicKey {
	t.Helper()
	mod := p11.New(cfg.ModulePath)
	if mod == nil {
		t.Fatalf("load %s failed", cfg.ModulePath)
	}
	defer mod.Destroy()
	if err := mod.Initialize(); err != nil {
		t.Fatalf("C_Initialize: %v", err)
	}
	defer func() {
		if err := mod.Finalize(); err != nil {
			t.Errorf("C_Finalize: %v", err)
		}
	}()

	slots, err := mod.GetSlotList(true)
	if err != nil {
		t.Fatalf("C_GetSlotList: %v", err)
	}
	slot, found := uint(0), false
	for _, s := range slots {
		if info, err := mod.GetTokenInfo(s); err == nil && info.Label == cfg.TokenLabel {
			slot, found = s, true
		}
	}
	if !found {
		t.Fatalf("no token labelled %q", cfg.TokenLabel)
	}
	sh, err := mod.OpenSession(slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		t.Fatalf("C_OpenSession: %v", err)
	}
	defer func() {
		if err := mod.CloseSession(sh); err != nil {
			t.Errorf("C_CloseSession: %v", err)
		}
	}()
	if err := mod.Login(sh, p11.CKU_USER, cfg.PIN); err != nil {
		t.Fatalf("C_Login: %v", err)
	}
	defer func() {
		if err := mod.Logout(sh); err != nil {
			t.Errorf("C_Logout: %v", err)
		}
	}()

	params, err := asn1.Marshal(asn1.ObjectIdentifier{1, 3, 101, 112}) // id-Ed25519
	if err != nil {
		t.Fatal(err)
	}
	common := func(extra ...*p11.Attribute) []*p11.Attribute {
		return append([]*p11.Attribute{
			p11.NewAttribute(p11.CKA_TOKEN, true),
			p11.NewAttribute(p11.CKA_KEY_TYPE, ckkECEdwards),
			p11.NewAttribute(p11.CKA_ID, []byte(id)),
			p11.NewAttribute(p11.CKA_LABEL, []byte(id)),
		}, extra...)
	}
	pubH, _, err := mod.GenerateKeyPair(sh,
		[]*p11.Mechanism{p11.NewMechanism(pkcs11.CKMECEdwardsKeyPairGen, nil)},
		common(p11.NewAttribute(p11.CKA_EC_PARAMS, params), p11.NewAttribute(p11.CKA_VERIFY, true)),
		common(p11.NewAttribute(p11.CKA_SIGN, true), p11.NewAttribute(p11.CKA_SENSITIVE, true), p11.NewAttribute(p11.CKA_PRIVATE, true)))
	if err != nil {
		t.Fatalf("C_GenerateKeyPair(CKM_EC_EDWARDS_KEY_PAIR_GEN): %v", err)
	}

	attrs, err := mod.GetAttributeValue(sh, pubH, []*p11.Attribute{p11.NewAttribute(p11.CKA_EC_POINT, nil)})
	if err != nil {
		t.Fatalf("C_GetAttributeValue(CKA_EC_POINT): %v", err)
	}
	var point []byte
	if rest, err := asn1.Unmarshal(attrs[0].Value, &point); err != nil || len(rest) > 0 || len(point) != ed25519.PublicKeySize {
		t.Fatalf("CKA_EC_POINT = %x, want a DER OCTET STRING of %d bytes (err %v)", attrs[0].Value, ed25519.PublicKeySize, err)
	}
	if alt {
		name, err := asn1.MarshalWithParams("edwards25519", "printable")
		if err != nil {
			t.Fatal(err)
		}
		if err := mod.DestroyObject(sh, pubH); err != nil {
			t.Fatalf("C_DestroyObject(public key): %v", err)
		}
		if _, err := mod.CreateObject(sh, common(
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY),
			p11.NewAttribute(p11.CKA_EC_PARAMS, name),
			p11.NewAttribute(p11.CKA_EC_POINT, point),
			p11.NewAttribute(p11.CKA_VERIFY, true))); err != nil {
			t.Fatalf("C_CreateObject(public key with curve name and bare point): %v", err)
		}
	}
	return ed25519.PublicKey(point)
}

// TestEd25519TwoTokensShareTheModule opens the same token twice in one
// process: closing one must not finalize the module or log out the user
// under the other, which shares the module's state.
func TestEd25519TwoTokensShareTheModule(t *testing.T) {
	cfg, first := openToken(t)
	ctx := context.Background()
	k1 := generateEd25519(t, first, "shared-ed")
	second, err := pkcs11.Open(cfg)
	if err != nil {
		t.Fatalf("second Open() = %v", err)
	}
	k2, err := second.Find(ctx, "shared-ed")
	if err != nil {
		t.Fatalf("second Find() = %v", err)
	}
	if err := second.Close(); err != nil {
		t.Fatalf("second Close() = %v", err)
	}
	msg := []byte("still logged in")
	sig, err := k1.Sign(ctx, msg)
	if err != nil {
		t.Fatalf("Sign through the first Token after closing the second = %v, want nil", err)
	}
	verifyEd25519(t, k1.Public(), msg, sig)
	if _, err := k2.Sign(ctx, msg); !errors.Is(err, pkcs11.ErrClosed) {
		t.Errorf("Sign through the closed second Token = %v, want ErrClosed", err)
	}
	// Creating objects needs the login too.
	generateEd25519(t, first, "after-close")
}
