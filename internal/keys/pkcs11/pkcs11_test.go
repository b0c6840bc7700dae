package pkcs11_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThalesGroup/crypto11"
	p11 "github.com/miekg/pkcs11"

	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/pkcs11"
	"github.com/zhengzhao/zhengzhao/internal/keys/pkcs11/softhsmtest"
)

// openToken creates a fresh SoftHSM2 token, opens it and closes it when the
// test ends. It returns the config too, for tests that reopen the token.
func openToken(t testing.TB) (pkcs11.Config, *pkcs11.Token) {
	t.Helper()
	cfg := softhsmtest.New(t)
	tok, err := pkcs11.Open(cfg)
	if err != nil {
		t.Fatalf("Open(%v) = %v, want nil error", cfg, err)
	}
	t.Cleanup(func() {
		if err := tok.Close(); err != nil {
			t.Errorf("Close() = %v, want nil", err)
		}
	})
	return cfg, tok
}

// generate creates an ECDSA P-256 key on tok or fails the test.
func generate(t testing.TB, tok *pkcs11.Token, id string) *pkcs11.Key {
	t.Helper()
	return generateAlg(t, tok, keys.ECDSAP256, id)
}

// generateAlg creates an alg key on tok or fails the test.
func generateAlg(t testing.TB, tok *pkcs11.Token, alg keys.Algorithm, id string) *pkcs11.Key {
	t.Helper()
	k, err := tok.Generate(context.Background(), alg, id)
	if err != nil {
		t.Fatalf("Generate(%s, %q) = %v, want nil error", alg, id, err)
	}
	return k
}

// tokenAlgorithms are the algorithms the backend supports on SoftHSM2.
var tokenAlgorithms = []keys.Algorithm{keys.ECDSAP256, keys.Ed25519}

func TestConfigValidate(t *testing.T) {
	valid := pkcs11.Config{ModulePath: "/usr/lib/softhsm/libsofthsm2.so", TokenLabel: "seals", PIN: "1234"}
	tests := []struct {
		name    string
		edit    func(*pkcs11.Config)
		wantErr []string // substrings; nil means valid
	}{
		{"valid", func(*pkcs11.Config) {}, nil},
		{"label of 32 bytes", func(c *pkcs11.Config) { c.TokenLabel = strings.Repeat("x", 32) }, nil},
		{"empty module", func(c *pkcs11.Config) { c.ModulePath = "" }, []string{"module path is empty"}},
		{"relative module", func(c *pkcs11.Config) { c.ModulePath = "libsofthsm2.so" }, []string{`"libsofthsm2.so" is not absolute`}},
		{"empty label", func(c *pkcs11.Config) { c.TokenLabel = "" }, []string{"token label is empty"}},
		{"label of 33 bytes", func(c *pkcs11.Config) { c.TokenLabel = strings.Repeat("x", 33) }, []string{"33 bytes"}},
		{"empty PIN", func(c *pkcs11.Config) { c.PIN = "" }, []string{"PIN is empty"}},
		{"everything missing", func(c *pkcs11.Config) { *c = pkcs11.Config{} }, []string{"module path is empty", "token label is empty", "PIN is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.edit(&cfg)
			err := cfg.Validate()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, pkcs11.ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want error wrapping ErrInvalidConfig", err)
			}
			for _, want := range tt.wantErr {
				if got := err.Error(); !strings.Contains(got, want) {
					t.Errorf("Validate() error = %q, want it to contain %q", got, want)
				}
			}
		})
	}
}

func TestConfigFormattingRedactsPIN(t *testing.T) {
	const pin = "s3cret-PIN-0042"
	cfg := pkcs11.Config{ModulePath: "/m.so", TokenLabel: "seals", PIN: pin}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		got := fmt.Sprintf(verb, cfg)
		if strings.Contains(got, pin) {
			t.Errorf("Sprintf(%q, cfg) = %q, want the PIN redacted", verb, got)
		}
		if !strings.Contains(got, "seals") {
			t.Errorf("Sprintf(%q, cfg) = %q, want it to name the token", verb, got)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	good := softhsmtest.New(t)
	dir := t.TempDir()
	notLib := filepath.Join(dir, "not-a-library.so")
	if err := os.WriteFile(notLib, []byte("this is not an ELF file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const badPIN = "wrong-PIN-9876"
	tests := []struct {
		name     string
		edit     func(t *testing.T, c *pkcs11.Config)
		wantIs   error
		wantText []string
	}{
		{
			name:     "module file missing",
			edit:     func(_ *testing.T, c *pkcs11.Config) { c.ModulePath = filepath.Join(dir, "missing.so") },
			wantIs:   pkcs11.ErrModule,
			wantText: []string{filepath.Join(dir, "missing.so"), "no such file"},
		},
		{
			name:     "module is not a shared library",
			edit:     func(_ *testing.T, c *pkcs11.Config) { c.ModulePath = notLib },
			wantIs:   pkcs11.ErrModule,
			wantText: []string{notLib, "cannot load or initialize"},
		},
		{
			name:     "module is a directory",
			edit:     func(_ *testing.T, c *pkcs11.Config) { c.ModulePath = dir },
			wantIs:   pkcs11.ErrModule,
			wantText: []string{dir, "not a regular file"},
		},
		{
			name: "module fails to initialize",
			edit: func(t *testing.T, _ *pkcs11.Config) {
				t.Setenv("SOFTHSM2_CONF", filepath.Join(dir, "missing.conf"))
			},
			wantIs:   pkcs11.ErrModule,
			wantText: []string{softhsmtest.ModulePath, "cannot load or initialize"},
		},
		{
			name:     "relative module path",
			edit:     func(_ *testing.T, c *pkcs11.Config) { c.ModulePath = "libsofthsm2.so" },
			wantIs:   pkcs11.ErrInvalidConfig,
			wantText: []string{"not absolute"},
		},
		{
			name:     "no token with that label",
			edit:     func(_ *testing.T, c *pkcs11.Config) { c.TokenLabel = "no-such-token" },
			wantIs:   pkcs11.ErrTokenNotFound,
			wantText: []string{`"no-such-token"`, softhsmtest.ModulePath},
		},
		{
			name:     "wrong PIN",
			edit:     func(_ *testing.T, c *pkcs11.Config) { c.PIN = badPIN },
			wantIs:   pkcs11.ErrPIN,
			wantText: []string{"CKR_PIN_INCORRECT", good.TokenLabel},
		},
		{
			// SoftHSM2 answers CKR_PIN_INCORRECT, not CKR_PIN_LEN_RANGE,
			// for PINs outside its 4..255 bytes.
			name:     "PIN too short",
			edit:     func(_ *testing.T, c *pkcs11.Config) { c.PIN = "12" },
			wantIs:   pkcs11.ErrPIN,
			wantText: []string{"CKR_PIN_"},
		},
		{
			name:     "PIN too long",
			edit:     func(_ *testing.T, c *pkcs11.Config) { c.PIN = strings.Repeat("9", 300) },
			wantIs:   pkcs11.ErrPIN,
			wantText: []string{"CKR_PIN_"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(t, &cfg)
			tok, err := pkcs11.Open(cfg)
			if err == nil {
				_ = tok.Close()
				t.Fatalf("Open(%v) = nil error, want one wrapping %v", cfg, tt.wantIs)
			}
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("Open(%v) = %v, want error wrapping %v", cfg, err, tt.wantIs)
			}
			got := err.Error()
			for _, want := range tt.wantText {
				if !strings.Contains(got, want) {
					t.Errorf("Open() error = %q, want it to contain %q", got, want)
				}
			}
			if strings.Contains(got, badPIN) || strings.Contains(got, softhsmtest.UserPIN) {
				t.Errorf("Open() error = %q, want no PIN in it", got)
			}
		})
	}

	// The good config still works after all those failures.
	tok, err := pkcs11.Open(good)
	if err != nil {
		t.Fatalf("Open(good config) after failures = %v, want nil", err)
	}
	if err := tok.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
}

// TestClassifyOpenError covers the PKCS#11 codes SoftHSM2 never returns, by
// wrapping them as crypto11.Configure does.
func TestClassifyOpenError(t *testing.T) {
	cfg := pkcs11.Config{ModulePath: "/opt/hsm/libvendor.so", TokenLabel: "seals", PIN: "secret-pin"}
	login := func(code p11.Error) error { return fmt.Errorf("failed to log into long term session: %w", code) }
	tests := []struct {
		name    string
		err     error
		wantIs  error // nil: none of the sentinels
		wantMsg string
	}{
		{"PIN incorrect", login(p11.CKR_PIN_INCORRECT), pkcs11.ErrPIN, "CKR_PIN_INCORRECT"},
		{"PIN invalid", login(p11.CKR_PIN_INVALID), pkcs11.ErrPIN, "CKR_PIN_INVALID"},
		{"PIN length out of range", login(p11.CKR_PIN_LEN_RANGE), pkcs11.ErrPIN, "CKR_PIN_LEN_RANGE"},
		{"PIN expired", login(p11.CKR_PIN_EXPIRED), pkcs11.ErrPIN, "CKR_PIN_EXPIRED"},
		{"PIN locked", login(p11.CKR_PIN_LOCKED), pkcs11.ErrPIN, "CKR_PIN_LOCKED"},
		{"user PIN not set", login(p11.CKR_USER_PIN_NOT_INITIALIZED), pkcs11.ErrPIN, "CKR_USER_PIN_NOT_INITIALIZED"},
		{"device error", login(p11.CKR_DEVICE_ERROR), nil, "CKR_DEVICE_ERROR"},
		{"module", fmt.Errorf("failed to create module context: %w", errors.New("failed to open module")), pkcs11.ErrModule, "/opt/hsm/libvendor.so"},
		{"module init", fmt.Errorf("failed to create module context: %w", p11.Error(p11.CKR_GENERAL_ERROR)), pkcs11.ErrModule, "CKR_GENERAL_ERROR"},
		{"token", errors.New("could not find PKCS#11 token"), pkcs11.ErrTokenNotFound, `"seals"`},
	}
	sentinels := []error{pkcs11.ErrPIN, pkcs11.ErrModule, pkcs11.ErrTokenNotFound}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pkcs11.ClassifyOpenError(cfg, tt.err)
			for _, s := range sentinels {
				if want := s == tt.wantIs; errors.Is(got, s) != want {
					t.Errorf("classify(%v) = %v; errors.Is(%v) = %v, want %v", tt.err, got, s, !want, want)
				}
			}
			if !strings.Contains(got.Error(), tt.wantMsg) {
				t.Errorf("classify(%v) = %q, want it to contain %q", tt.err, got, tt.wantMsg)
			}
			if strings.Contains(got.Error(), cfg.PIN) {
				t.Errorf("classify(%v) = %q, want no PIN in it", tt.err, got)
			}
		})
	}
}

func TestGenerateSignVerify(t *testing.T) {
	_, tok := openToken(t)
	ctx := context.Background()
	k := generate(t, tok, "seal-2025-001")

	if got, want := k.Algorithm(), keys.ECDSAP256; got != want {
		t.Errorf("Algorithm() = %s, want %s", got, want)
	}
	if got, want := k.ID(), "seal-2025-001"; got != want {
		t.Errorf("ID() = %q, want %q", got, want)
	}
	pub, ok := k.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("Public() = %T, want *ecdsa.PublicKey on P-256", k.Public())
	}

	tests := []struct {
		name string
		msg  []byte
	}{
		{"empty", nil},
		{"short", []byte(`{"licence":"营业执照"}`)},
		{"1 KiB", bytes.Repeat([]byte{0xA5}, 1024)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := k.Sign(ctx, tt.msg)
			if err != nil {
				t.Fatalf("Sign() = %v, want nil error", err)
			}
			if err := keys.Verify(keys.ECDSAP256, k.Public(), tt.msg, sig); err != nil {
				t.Errorf("keys.Verify() = %v, want nil", err)
			}
			h := sha256.Sum256(tt.msg)
			if !ecdsa.VerifyASN1(pub, h[:], sig) {
				t.Errorf("ecdsa.VerifyASN1(sha256(msg)) = false, want true")
			}
			tampered := append(append([]byte{}, tt.msg...), 'x')
			if err := keys.Verify(keys.ECDSAP256, k.Public(), tampered, sig); !errors.Is(err, keys.ErrBadSignature) {
				t.Errorf("keys.Verify(tampered) = %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestFindAndReopen(t *testing.T) {
	cfg, tok := openToken(t)
	ctx := context.Background()
	made := generate(t, tok, "seal-a")
	generate(t, tok, "seal-b")

	found, err := tok.Find(ctx, "seal-a")
	if err != nil {
		t.Fatalf("Find(seal-a) = %v, want nil error", err)
	}
	if !made.Public().(*ecdsa.PublicKey).Equal(found.Public()) {
		t.Errorf("Find(seal-a).Public() differs from the generated key's")
	}

	// The key is on the token, not in this process: it survives reopening.
	if err := tok.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	tok2, err := pkcs11.Open(cfg)
	if err != nil {
		t.Fatalf("reopen: Open() = %v", err)
	}
	defer tok2.Close()
	again, err := tok2.Find(ctx, "seal-a")
	if err != nil {
		t.Fatalf("after reopen, Find(seal-a) = %v, want nil error", err)
	}
	msg := []byte("signed after reopening")
	sig, err := again.Sign(ctx, msg)
	if err != nil {
		t.Fatalf("Sign() = %v", err)
	}
	if err := keys.Verify(keys.ECDSAP256, made.Public(), msg, sig); err != nil {
		t.Errorf("Verify with the originally generated public key = %v, want nil", err)
	}
}

func TestGenerateErrors(t *testing.T) {
	_, tok := openToken(t)
	generate(t, tok, "taken")
	generateAlg(t, tok, keys.Ed25519, "taken-ed")
	tests := []struct {
		name   string
		alg    keys.Algorithm
		id     string
		wantIs error
	}{
		{"SM2 not supported", keys.SM2SM3, "k1", pkcs11.ErrUnsupported},
		{"unknown algorithm", keys.Algorithm("RSA-2048"), "k3", keys.ErrUnknownAlgorithm},
		{"id exists", keys.ECDSAP256, "taken", pkcs11.ErrKeyExists},
		{"Ed25519 on an ECDSA id", keys.Ed25519, "taken", pkcs11.ErrKeyExists},
		{"ECDSA on an Ed25519 id", keys.ECDSAP256, "taken-ed", pkcs11.ErrKeyExists},
		{"Ed25519 id exists", keys.Ed25519, "taken-ed", pkcs11.ErrKeyExists},
		{"Ed25519 empty id", keys.Ed25519, "", pkcs11.ErrInvalidKeyID},
		{"empty id", keys.ECDSAP256, "", pkcs11.ErrInvalidKeyID},
		{"id too long", keys.ECDSAP256, strings.Repeat("k", 65), pkcs11.ErrInvalidKeyID},
		{"id with newline", keys.ECDSAP256, "a\nb", pkcs11.ErrInvalidKeyID},
		{"id not UTF-8", keys.ECDSAP256, "a\xffb", pkcs11.ErrInvalidKeyID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := tok.Generate(context.Background(), tt.alg, tt.id)
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("Generate(%s, %q) = %v, %v; want error wrapping %v", tt.alg, tt.id, k, err, tt.wantIs)
			}
		})
	}
}

func TestFindErrors(t *testing.T) {
	_, tok := openToken(t)
	ctx := context.Background()
	for _, kind := range []string{"rsa-2048", "ecdsa-p384"} {
		if err := pkcs11.GenerateForeign(tok, kind, "foreign-"+kind); err != nil {
			t.Fatalf("GenerateForeign(%s) = %v", kind, err)
		}
	}
	tests := []struct {
		name   string
		id     string
		wantIs error
	}{
		{"missing", "nobody", pkcs11.ErrKeyNotFound},
		{"RSA key", "foreign-rsa-2048", pkcs11.ErrUnsupported},
		{"P-384 key", "foreign-ecdsa-p384", pkcs11.ErrUnsupported},
		{"invalid id", "", pkcs11.ErrInvalidKeyID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := tok.Find(ctx, tt.id)
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("Find(%q) = %v, %v; want error wrapping %v", tt.id, k, err, tt.wantIs)
			}
		})
	}
	// A foreign key still blocks Generate with its id.
	if _, err := tok.Generate(ctx, keys.ECDSAP256, "foreign-rsa-2048"); !errors.Is(err, pkcs11.ErrKeyExists) {
		t.Errorf("Generate(foreign id) = %v, want ErrKeyExists", err)
	}
}

func TestDelete(t *testing.T) {
	_, tok := openToken(t)
	ctx := context.Background()
	for _, alg := range tokenAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			id := "doomed-" + string(alg)
			generateAlg(t, tok, alg, id)
			if err := tok.Delete(ctx, id); err != nil {
				t.Fatalf("Delete(%s) = %v, want nil", id, err)
			}
			if _, err := tok.Find(ctx, id); !errors.Is(err, pkcs11.ErrKeyNotFound) {
				t.Errorf("Find after Delete = %v, want ErrKeyNotFound", err)
			}
			if err := tok.Delete(ctx, id); !errors.Is(err, pkcs11.ErrKeyNotFound) {
				t.Errorf("second Delete = %v, want ErrKeyNotFound", err)
			}
			// The id can be reused once the old pair (both halves) is gone.
			generateAlg(t, tok, alg, id)
		})
	}
}

func TestKeyAttributes(t *testing.T) {
	_, tok := openToken(t)
	yes, no := []byte{1}, []byte{0}
	edParams, err := asn1.Marshal(asn1.ObjectIdentifier{1, 3, 101, 112})
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range tokenAlgorithms {
		id := "seal-attrs-" + string(alg)
		k := generateAlg(t, tok, alg, id)
		type attrCase struct {
			name   string
			public bool
			attr   crypto11.AttributeType
			want   []byte
		}
		tests := []attrCase{
			{"private CKA_SENSITIVE", false, crypto11.CkaSensitive, yes},
			{"private CKA_EXTRACTABLE", false, crypto11.CkaExtractable, no},
			{"private CKA_PRIVATE", false, crypto11.CkaPrivate, yes},
			{"private CKA_SIGN", false, crypto11.CkaSign, yes},
			{"private CKA_TOKEN", false, crypto11.CkaToken, yes},
			{"private CKA_NEVER_EXTRACTABLE", false, crypto11.CkaNeverExtractable, yes},
			{"private CKA_ALWAYS_SENSITIVE", false, crypto11.CkaAlwaysSensitive, yes},
			{"private CKA_ID", false, crypto11.CkaId, []byte(id)},
			{"private CKA_LABEL", false, crypto11.CkaLabel, []byte(id)},
			{"public CKA_ID", true, crypto11.CkaId, []byte(id)},
			{"public CKA_LABEL", true, crypto11.CkaLabel, []byte(id)},
			{"public CKA_VERIFY", true, crypto11.CkaVerify, yes},
			{"public CKA_TOKEN", true, crypto11.CkaToken, yes},
		}
		if alg == keys.Ed25519 {
			tests = append(tests, attrCase{"public CKA_EC_PARAMS", true, crypto11.CkaEcParams, edParams})
		}
		for _, tt := range tests {
			t.Run(string(alg)+"/"+tt.name, func(t *testing.T) {
				got, err := pkcs11.KeyAttributes(k, tt.public, tt.attr)
				if err != nil {
					t.Fatalf("KeyAttributes() = %v", err)
				}
				if !bytes.Equal(got[tt.attr], tt.want) {
					t.Errorf("%s = %q, want %q", tt.name, got[tt.attr], tt.want)
				}
			})
		}
	}
}

func TestContextAndClose(t *testing.T) {
	cfg := softhsmtest.New(t)
	tok, err := pkcs11.Open(cfg)
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	k := generate(t, tok, "seal-ctx")
	ed := generateAlg(t, tok, keys.Ed25519, "seal-ctx-ed")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()

	tests := []struct {
		name   string
		ctx    context.Context
		wantIs error
	}{
		{"cancelled", cancelled, context.Canceled},
		{"deadline passed", expired, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range []*pkcs11.Key{k, ed} {
				if _, err := s.Sign(tt.ctx, []byte("m")); !errors.Is(err, tt.wantIs) {
					t.Errorf("%s Sign() = %v, want %v", s.Algorithm(), err, tt.wantIs)
				}
			}
			if _, err := tok.Find(tt.ctx, "seal-ctx"); !errors.Is(err, tt.wantIs) {
				t.Errorf("Find() = %v, want %v", err, tt.wantIs)
			}
			if _, err := tok.Generate(tt.ctx, keys.ECDSAP256, "other"); !errors.Is(err, tt.wantIs) {
				t.Errorf("Generate() = %v, want %v", err, tt.wantIs)
			}
		})
	}

	if err := tok.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	if err := tok.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	ctx := context.Background()
	for _, s := range []*pkcs11.Key{k, ed} {
		if _, err := s.Sign(ctx, []byte("m")); !errors.Is(err, pkcs11.ErrClosed) {
			t.Errorf("%s Sign after Close = %v, want ErrClosed", s.Algorithm(), err)
		}
	}
	if _, err := ed.CryptoSigner().Sign(nil, []byte("m"), crypto.Hash(0)); !errors.Is(err, pkcs11.ErrClosed) {
		t.Errorf("Ed25519 CryptoSigner().Sign after Close = %v, want ErrClosed", err)
	}
	if _, err := tok.Find(ctx, "seal-ctx"); !errors.Is(err, pkcs11.ErrClosed) {
		t.Errorf("Find after Close = %v, want ErrClosed", err)
	}
	for _, alg := range tokenAlgorithms {
		if _, err := tok.Generate(ctx, alg, "other"); !errors.Is(err, pkcs11.ErrClosed) {
			t.Errorf("Generate(%s) after Close = %v, want ErrClosed", alg, err)
		}
	}
	if err := tok.Delete(ctx, "seal-ctx"); !errors.Is(err, pkcs11.ErrClosed) {
		t.Errorf("Delete after Close = %v, want ErrClosed", err)
	}
}

func TestConcurrentSign(t *testing.T) {
	_, tok := openToken(t)
	ctx := context.Background()
	k := generate(t, tok, "seal-busy")
	const workers, perWorker = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				msg := fmt.Appendf(nil, "licence %d/%d", w, i)
				sig, err := k.Sign(ctx, msg)
				if err == nil {
					err = keys.Verify(keys.ECDSAP256, k.Public(), msg, sig)
				}
				if err != nil {
					errs <- fmt.Errorf("worker %d, message %d: %w", w, i, err)
				}
				if i%10 == 0 {
					if _, err := tok.Find(ctx, "seal-busy"); err != nil {
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

// TestCryptoSignerIssuesCertificate shows the use an internal CA makes of
// CryptoSigner: a self-signed X.509 certificate signed on the token.
func TestCryptoSignerIssuesCertificate(t *testing.T) {
	_, tok := openToken(t)
	tests := []struct {
		alg  keys.Algorithm
		want x509.SignatureAlgorithm
	}{
		{keys.ECDSAP256, x509.ECDSAWithSHA256},
		{keys.Ed25519, x509.PureEd25519},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			k := generateAlg(t, tok, tt.alg, "ca-root-"+string(tt.alg))
			tmpl := &x509.Certificate{
				SerialNumber:          big.NewInt(1),
				Subject:               pkix.Name{CommonName: "zhengzhao test CA"},
				NotBefore:             time.Now().Add(-time.Hour),
				NotAfter:              time.Now().Add(time.Hour),
				IsCA:                  true,
				BasicConstraintsValid: true,
				KeyUsage:              x509.KeyUsageCertSign,
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k.CryptoSigner())
			if err != nil {
				t.Fatalf("CreateCertificate() = %v, want nil error", err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatalf("ParseCertificate() = %v", err)
			}
			if got := cert.SignatureAlgorithm; got != tt.want {
				t.Errorf("SignatureAlgorithm = %v, want %v", got, tt.want)
			}
			if err := cert.CheckSignatureFrom(cert); err != nil {
				t.Errorf("CheckSignatureFrom(self) = %v, want nil", err)
			}
		})
	}
}
