package pkcs11_test

import (
	"context"
	"crypto/ed25519"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"zhengzhao/internal/keys/pkcs11"
	"zhengzhao/internal/keys/pkcs11/softhsmtest"
)

// PKCS#11 3.0 EdDSA constants; github.com/miekg/pkcs11 v1.1.2 lacks them.
const (
	ckmECEdwardsKeyPairGen = 0x1055
	ckmEdDSA               = 0x1057
	ckkECEdwards           = 0x40
)

// TestEd25519IsTokenOnly documents why the backend offers no Ed25519:
// SoftHSM2 can generate an Ed25519 key pair and sign with it (checked here
// with raw PKCS#11 calls), but crypto11 v1.6.2 cannot generate one, has no
// CKM_EDDSA signer and refuses to load the pair it finds.
func TestEd25519IsTokenOnly(t *testing.T) {
	cfg := softhsmtest.New(t)
	const id = "ed25519-by-other-tool"
	msg := []byte("signed by SoftHSM2 with CKM_EDDSA")
	pub, sig := ed25519OnToken(t, cfg, id, msg)
	if !ed25519.Verify(pub, msg, sig) {
		t.Fatalf("ed25519.Verify(SoftHSM2 signature) = false, want true")
	}

	tok, err := pkcs11.Open(cfg)
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	defer tok.Close()
	_, err = tok.Find(context.Background(), id)
	if !errors.Is(err, pkcs11.ErrUnsupported) {
		t.Fatalf("Find(Ed25519 key) = %v, want ErrUnsupported", err)
	}
	if got, want := err.Error(), "unsupported key type: 40"; !strings.Contains(got, want) {
		t.Errorf("Find(Ed25519 key) error = %q, want it to contain crypto11's %q", got, want)
	}
}

// ed25519OnToken generates an Ed25519 key pair on the token with raw
// PKCS#11 calls, signs msg with it and returns the public key and signature.
// It unloads the module before returning, so crypto11 can load it afresh.
func ed25519OnToken(t *testing.T, cfg pkcs11.Config, id string, msg []byte) (ed25519.PublicKey, []byte) {
	t.Helper()
	mod := p11.New(cfg.ModulePath)
	if mod == nil {
		t.Fatalf("load %s failed", cfg.ModulePath)
	}
	defer mod.Destroy()
	if err := mod.Initialize(); err != nil {
		t.Fatalf("C_Initialize: %v", err)
	}
	defer mod.Finalize()

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
	defer mod.CloseSession(sh)
	if err := mod.Login(sh, p11.CKU_USER, cfg.PIN); err != nil {
		t.Fatalf("C_Login: %v", err)
	}
	defer mod.Logout(sh)

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
	pubH, privH, err := mod.GenerateKeyPair(sh,
		[]*p11.Mechanism{p11.NewMechanism(ckmECEdwardsKeyPairGen, nil)},
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

	if err := mod.SignInit(sh, []*p11.Mechanism{p11.NewMechanism(ckmEdDSA, nil)}, privH); err != nil {
		t.Fatalf("C_SignInit(CKM_EDDSA): %v", err)
	}
	sig, err := mod.Sign(sh, msg)
	if err != nil {
		t.Fatalf("C_Sign(CKM_EDDSA): %v", err)
	}
	return ed25519.PublicKey(point), sig
}
