// Package pkcs11 keeps zhengzhao's seal and signing keys in a dedicated
// cryptographic device — a hardware security module or a signing server —
// reached through PKCS#11, as requirement R-SEAL-7 demands: the private key
// of an electronic seal must never exist in the memory of the application
// server, so that stealing the server or its database does not let anyone
// forge seals.
//
// A [Token] is an open, logged-in connection to one token of a PKCS#11
// module. It generates key pairs on the token ([Token.Generate]) and finds
// them again by id ([Token.Find]); each [Key] implements keys.Signer and is
// used exactly like an in-memory keys.SoftwareKey. Private keys are created
// sensitive and non-extractable, so the token never reveals them.
//
// ECDSA P-256 keys go through github.com/ThalesGroup/crypto11, which owns
// their PKCS#11 sessions (a pool, so keys are safe for concurrent use).
// crypto11 v1.6.2 can neither generate nor use Ed25519 (EdDSA) keys, so
// Ed25519 keys — on tokens that offer the PKCS#11 3.0 mechanisms
// CKM_EC_EDWARDS_KEY_PAIR_GEN and CKM_EDDSA, as SoftHSM2 2.6 does — go
// through a second handle on the same module (github.com/miekg/pkcs11, the
// library crypto11 is built on) with a small session pool of its own. SM2
// is not supported (see [ErrUnsupported]): it is not a standard PKCS#11
// mechanism at all — Chinese devices offer it through vendor extensions or
// the GM/T 0016 (SKF) and GM/T 0018 (SDF) interfaces.
//
// Tests use SoftHSM2 through the softhsmtest subpackage.
package pkcs11

import (
	"context"
	"crypto/elliptic"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/ThalesGroup/crypto11"
	p11 "github.com/miekg/pkcs11"

	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// ErrInvalidConfig is returned (wrapped) by Config.Validate and Open when the
// configuration is incomplete or malformed. The operator must correct the
// configuration; retrying cannot help.
var ErrInvalidConfig = errors.New("pkcs11: invalid configuration")

// ErrModule is returned (wrapped) by Open when the PKCS#11 module (the
// vendor's shared library) is missing, cannot be loaded or fails to
// initialize. The error names the path. The operator must install the
// module or fix Config.ModulePath (and, for SoftHSM2, SOFTHSM2_CONF);
// retrying without a change cannot help.
var ErrModule = errors.New("pkcs11: cannot load PKCS#11 module")

// ErrTokenNotFound is returned (wrapped) by Open when the module has no
// initialized token with the configured label. The operator must check
// Config.TokenLabel, that the device is connected, or initialize the token.
// For a network HSM a retry after the device comes back may succeed.
var ErrTokenNotFound = errors.New("pkcs11: token not found")

// ErrPIN is returned (wrapped) by Open when the token rejects the user PIN:
// it is wrong, of a length the token does not accept, expired, locked or
// not yet set. The error names the PKCS#11 return code. Callers must NOT
// retry with the same PIN in a loop: most HSMs lock the user after a few
// failed logins. The operator must fix the PIN (or have the security
// officer unlock or reset it when the code is CKR_PIN_LOCKED).
var ErrPIN = errors.New("pkcs11: token rejected the PIN")

// ErrKeyNotFound is returned (wrapped) by Token.Find and Token.Delete when no
// key pair with the given id exists on the token. Callers usually react by
// generating the key (at set-up) or by reporting a configuration error
// (at run time: a seal refers to a key that is not on this token).
var ErrKeyNotFound = errors.New("pkcs11: key not found")

// ErrKeyExists is returned (wrapped) by Token.Generate when a key pair with
// the given id already exists. Callers should use Token.Find instead, or
// choose another id; keys are never replaced silently.
var ErrKeyExists = errors.New("pkcs11: key with this id already exists")

// ErrUnsupported is returned (wrapped) when a known algorithm or a key type
// found on the token cannot be used through this backend: SM2 always (see
// the package documentation), Ed25519 when the token lacks a mechanism it
// needs (the error names it), keys of other types or curves (RSA, P-384,
// Ed448) found under an id. It is a configuration error: use an algorithm
// the backend and token support, another token, or a software key.
var ErrUnsupported = errors.New("pkcs11: not supported by this backend")

// ErrInvalidKeyID is returned (wrapped) when a key id is empty, too long or
// contains control characters or invalid UTF-8. It is an input error.
var ErrInvalidKeyID = errors.New("pkcs11: invalid key id")

// ErrClosed is returned (wrapped) when a Token, or a Key found through it, is
// used after Token.Close. It is a programming error in the caller.
var ErrClosed = errors.New("pkcs11: token is closed")

// maxLabelLen is the size of CK_TOKEN_INFO.label in PKCS#11.
const maxLabelLen = 32

// maxKeyIDLen bounds key ids; they become CKA_ID and CKA_LABEL, which some
// HSMs limit to a few dozen bytes.
const maxKeyIDLen = 64

// Config says which PKCS#11 module and token to use and how to log in.
type Config struct {
	// ModulePath is the absolute path of the vendor's PKCS#11 shared
	// library, for example /usr/lib/softhsm/libsofthsm2.so. It must be
	// absolute so the dynamic loader never searches for it.
	ModulePath string
	// TokenLabel selects the token by its label (at most 32 bytes).
	TokenLabel string
	// PIN is the user (CKU_USER) PIN. It is secret: Config's String and
	// GoString methods redact it and no error message contains it.
	PIN string
}

// Validate checks that every field is present and well-formed, without
// touching the module. Its error wraps ErrInvalidConfig and lists every
// problem found.
func (c Config) Validate() error {
	var problems []string
	switch {
	case c.ModulePath == "":
		problems = append(problems, "module path is empty")
	case !filepath.IsAbs(c.ModulePath):
		problems = append(problems, fmt.Sprintf("module path %q is not absolute", c.ModulePath))
	}
	switch {
	case c.TokenLabel == "":
		problems = append(problems, "token label is empty")
	case len(c.TokenLabel) > maxLabelLen:
		problems = append(problems, fmt.Sprintf("token label %q is %d bytes, PKCS#11 allows at most %d", c.TokenLabel, len(c.TokenLabel), maxLabelLen))
	}
	if c.PIN == "" {
		problems = append(problems, "PIN is empty")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, strings.Join(problems, "; "))
	}
	return nil
}

// String describes c with the PIN redacted, so a Config can be logged.
func (c Config) String() string {
	return fmt.Sprintf("pkcs11.Config{ModulePath: %q, TokenLabel: %q, PIN: %s}", c.ModulePath, c.TokenLabel, redacted(c.PIN))
}

// GoString is like String, so that %#v does not print the PIN either.
func (c Config) GoString() string { return c.String() }

// redacted hides a secret, only telling whether it is set.
func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}

// Token is an open, logged-in connection to one PKCS#11 token. All methods
// are safe for concurrent use; Close must only be called once all other use
// has finished (later calls fail with ErrClosed).
type Token struct {
	ctx    *crypto11.Context
	raw    *rawModule // for Ed25519, which crypto11 cannot handle
	label  string
	module string

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Open loads the module, finds the token labelled cfg.TokenLabel and logs in
// with cfg.PIN. Errors wrap ErrInvalidConfig, ErrModule, ErrTokenNotFound or
// ErrPIN so the caller can tell the operator exactly what to fix. Call Close
// when done.
//
// crypto11 loads each module once per process and shares it between Tokens;
// the module is unloaded when the last Token using it is closed.
func Open(cfg Config) (*Token, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("open PKCS#11 token: %w", err)
	}
	if err := checkModuleFile(cfg.ModulePath); err != nil {
		return nil, err
	}
	c11, err := crypto11.Configure(&crypto11.Config{
		Path:       cfg.ModulePath,
		TokenLabel: cfg.TokenLabel,
		Pin:        cfg.PIN,
	})
	if err != nil {
		return nil, classifyOpenError(cfg, err)
	}
	// Opened after crypto11, so the module is already initialised and
	// logged in, and closed before it (see Close).
	raw, err := openRawModule(cfg)
	if err != nil {
		_ = c11.Close()
		return nil, fmt.Errorf("open PKCS#11 token %q for EdDSA: %w", cfg.TokenLabel, err)
	}
	return &Token{ctx: c11, raw: raw, label: cfg.TokenLabel, module: cfg.ModulePath}, nil
}

// checkModuleFile gives a clear ErrModule error when the module path does
// not name a regular file, before the dynamic loader is involved.
func checkModuleFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w %s: %w", ErrModule, path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w %s: not a regular file (mode %s)", ErrModule, path, fi.Mode())
	}
	return nil
}

// crypto11 reports these conditions only through message text (its
// sentinels are unexported); the tests pin the mapping so that a crypto11
// upgrade that changes them is noticed.
const (
	c11ModuleMsg  = "failed to create module context"
	c11NoTokenMsg = "could not find PKCS#11 token"
)

// classifyOpenError maps an error from crypto11.Configure to one wrapping
// the matching sentinel. The PIN never appears in the result.
func classifyOpenError(cfg Config, err error) error {
	var code p11.Error
	hasCode := errors.As(err, &code)
	msg := err.Error()
	switch {
	case strings.Contains(msg, c11ModuleMsg):
		return fmt.Errorf("%w %s: cannot load or initialize it: %w", ErrModule, cfg.ModulePath, err)
	case strings.Contains(msg, c11NoTokenMsg):
		return fmt.Errorf("%w: no initialized token labelled %q in module %s", ErrTokenNotFound, cfg.TokenLabel, cfg.ModulePath)
	case hasCode && isPINError(code):
		return fmt.Errorf("%w: login to token %q failed: %s", ErrPIN, cfg.TokenLabel, code.Error())
	}
	return fmt.Errorf("open PKCS#11 token %q in module %s: %w", cfg.TokenLabel, cfg.ModulePath, err)
}

// isPINError reports whether code means the token refused the PIN.
func isPINError(code p11.Error) bool {
	switch code {
	case p11.CKR_PIN_INCORRECT, p11.CKR_PIN_INVALID, p11.CKR_PIN_LEN_RANGE,
		p11.CKR_PIN_EXPIRED, p11.CKR_PIN_LOCKED, p11.CKR_USER_PIN_NOT_INITIALIZED:
		return true
	}
	return false
}

// Close logs out and releases the token's sessions, unloading the module if
// no other Token uses it. It waits for operations in progress. Calling it
// again returns the first result.
func (t *Token) Close() error {
	t.closeOnce.Do(func() {
		t.closed.Store(true)
		// The raw handle first: crypto11 may finalize the module when its
		// last Context closes, which would invalidate the raw sessions.
		errs := []error{t.raw.close(), t.ctx.Close()}
		if err := errors.Join(errs...); err != nil {
			t.closeErr = fmt.Errorf("close PKCS#11 token %q: %w", t.label, err)
		}
	})
	return t.closeErr
}

// Label returns the label of the token.
func (t *Token) Label() string { return t.label }

// check returns an error when ctx is done or t is closed.
func (t *Token) check(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if t.closed.Load() {
		return fmt.Errorf("%s: %w (%q)", op, ErrClosed, t.label)
	}
	return nil
}

// Generate creates a key pair for alg on the token, with CKA_ID and
// CKA_LABEL set to id on both halves. The private key is CKA_TOKEN,
// CKA_SENSITIVE, not CKA_EXTRACTABLE and CKA_PRIVATE: it can sign but never
// leaves the token. keys.ECDSAP256 and keys.Ed25519 are supported; Ed25519
// on a token without CKM_EC_EDWARDS_KEY_PAIR_GEN or CKM_EDDSA, and
// keys.SM2SM3 always, give an error wrapping ErrUnsupported; other names
// give one wrapping keys.ErrUnknownAlgorithm. If a key pair with id already
// exists the error wraps ErrKeyExists (the check and the creation are not
// atomic: callers must not generate the same id concurrently).
func (t *Token) Generate(ctx context.Context, alg keys.Algorithm, id string) (*Key, error) {
	op := fmt.Sprintf("generate %s key %q on token %q", alg, id, t.label)
	if err := t.check(ctx, op); err != nil {
		return nil, err
	}
	if err := validateKeyID(id); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	switch alg {
	case keys.ECDSAP256, keys.Ed25519:
	case keys.SM2SM3:
		return nil, fmt.Errorf("%s: %w: PKCS#11 has no standard SM2 mechanism", op, ErrUnsupported)
	default:
		return nil, fmt.Errorf("generate key %q: %w: %q", id, keys.ErrUnknownAlgorithm, string(alg))
	}
	_, n, err := t.lookup(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("%s: look for an existing key: %w", op, err)
	}
	if n > 0 {
		return nil, fmt.Errorf("%s: %w", op, ErrKeyExists)
	}
	var k *Key
	if alg == keys.Ed25519 {
		k, err = t.generateEd25519(ctx, id)
	} else {
		k, err = t.generateECDSA(id)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return k, nil
}

// generateECDSA creates a P-256 key pair through crypto11.
func (t *Token) generateECDSA(id string) (*Key, error) {
	public, err := crypto11.NewAttributeSetWithIDAndLabel([]byte(id), []byte(id))
	if err != nil {
		return nil, err
	}
	private := public.Copy()
	for _, a := range []struct {
		typ crypto11.AttributeType
		val bool
	}{
		{crypto11.CkaSign, true},
		{crypto11.CkaSensitive, true},
		{crypto11.CkaExtractable, false},
		{crypto11.CkaPrivate, true},
	} {
		if err := private.Set(a.typ, a.val); err != nil {
			return nil, fmt.Errorf("set private key attribute: %w", err)
		}
	}
	s, err := t.ctx.GenerateECDSAKeyPairWithAttributes(public, private, elliptic.P256())
	if err != nil {
		return nil, err
	}
	return t.newKey(id, s)
}

// Find returns the key pair whose private half has CKA_ID id. A missing key
// gives an error wrapping ErrKeyNotFound; a key of a type this backend
// cannot use wraps ErrUnsupported (so does an Ed25519 key on a token
// without CKM_EDDSA); several key pairs sharing the id is an error too,
// because signing with the wrong one would be silent.
func (t *Token) Find(ctx context.Context, id string) (*Key, error) {
	op := fmt.Sprintf("find key %q on token %q", id, t.label)
	if err := t.check(ctx, op); err != nil {
		return nil, err
	}
	if err := validateKeyID(id); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	found, n, err := t.lookup(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	switch n {
	case 0:
		return nil, fmt.Errorf("%s: %w", op, ErrKeyNotFound)
	case 1:
	default:
		return nil, fmt.Errorf("%s: %d key pairs share this id; remove the duplicates on the token", op, n)
	}
	if found.ed != nil {
		if err := t.requireMechanisms(ckmEdDSA); err != nil {
			return nil, fmt.Errorf("%s: Ed25519 key: %w", op, err)
		}
		return &Key{id: id, alg: keys.Ed25519, pub: found.ed.key, ed: found.ed, token: t}, nil
	}
	k, err := t.newKey(id, found.c11)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return k, nil
}

// Delete destroys the key pair with id on the token. It exists for tests and
// for decommissioning tooling: zhengzhao itself never deletes seal keys,
// because signatures made with them must stay verifiable and auditable.
// A missing key gives an error wrapping ErrKeyNotFound.
func (t *Token) Delete(ctx context.Context, id string) error {
	k, err := t.Find(ctx, id)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if k.ed != nil {
		err = t.deleteEd25519(ctx, k)
	} else {
		err = k.signer.Delete()
	}
	if err != nil {
		return fmt.Errorf("delete key %q on token %q: %w", id, t.label, err)
	}
	return nil
}

// pair is a key pair lookup found: crypto11's, or an Ed25519 one.
type pair struct {
	c11 crypto11.Signer
	ed  *edPair
}

// lookup counts the key pairs whose private half has CKA_ID id and returns
// the pair when there is exactly one. The raw handle looks first, because
// crypto11 fails the whole search on an Edwards key; pairs of other types
// are left to crypto11, so ECDSA keys are found exactly as before.
func (t *Token) lookup(ctx context.Context, id string) (pair, int, error) {
	ed, n, edwards, err := t.findEd25519(ctx, id)
	switch {
	case err != nil:
		return pair{}, 0, err
	case edwards || n == 0:
		return pair{ed: ed}, n, nil
	}
	found, err := t.ctx.FindKeyPairs([]byte(id), nil)
	if err != nil {
		if strings.Contains(err.Error(), "unsupported key type") {
			return pair{}, 0, fmt.Errorf("%w: %w", ErrUnsupported, err)
		}
		return pair{}, 0, err
	}
	if len(found) != 1 {
		return pair{}, len(found), nil
	}
	return pair{c11: found[0]}, 1, nil
}

// validateKeyID checks that id can serve as CKA_ID and CKA_LABEL.
func validateKeyID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalidKeyID)
	case len(id) > maxKeyIDLen:
		return fmt.Errorf("%w: %d bytes, at most %d allowed", ErrInvalidKeyID, len(id), maxKeyIDLen)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrInvalidKeyID, id)
	case strings.IndexFunc(id, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: %q contains control characters", ErrInvalidKeyID, id)
	}
	return nil
}
