// Package keyring keeps the platform's signing keys: named keys owned by an
// organization, each with a purpose, an algorithm, a backend (software keys
// encrypted under the master key, or a PKCS#11 token) and a state. Rotation
// adds a new version and retires the old one, whose public key stays, so
// signatures made before the rotation still verify (R-SEAL-7, R-SEC-1).
package keyring

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/page"
)

// Purpose says what a key signs.
type Purpose string

// The purposes.
const (
	Seal           Purpose = "seal"            // electronic seals (GB/T 38540)
	LicenseSigning Purpose = "license-signing" // e-licenses
	Presentation   Purpose = "presentation"    // holders' QR presentations
	Checkpoint     Purpose = "checkpoint"      // audit log checkpoints
	CA             Purpose = "ca"              // the internal certificate authority
	StatusList     Purpose = "status-list"     // the platform's signed status lists
)

// Purposes lists every purpose.
func Purposes() []Purpose {
	return []Purpose{Seal, LicenseSigning, Presentation, Checkpoint, CA, StatusList}
}

// State is whether a key may sign.
type State string

// The states. Only active keys sign; every key verifies.
const (
	Active   State = "active"
	Disabled State = "disabled" // stopped by an operator; may be enabled again
	Retired  State = "retired"  // replaced by a rotation; never signs again
)

// Backend is where the private key lives.
type Backend string

// The backends.
const (
	Software Backend = "software" // encrypted at rest under the master key
	PKCS11   Backend = "pkcs11"   // on a hardware token; never leaves it
)

// Key is a key's record. Its public key is kept as PEM.
type Key struct {
	ID         string
	Org        string
	Name       string
	Version    int
	Purpose    Purpose
	Algorithm  keys.Algorithm
	Backend    Backend
	State      State
	PublicPEM  []byte
	CreatedAt  time.Time
	RotatedAt  *time.Time
	ReplacedBy string
}

// Public parses the key's public key.
func (k Key) Public() (crypto.PublicKey, error) {
	pub, _, err := keys.ParsePublicPEM(k.PublicPEM)
	return pub, err
}

// Filter selects keys to list; zero fields do not filter.
type Filter struct {
	Org     string
	Purpose Purpose
	State   State
	After   string
	Limit   int
}

// Reader reads keys. The store encrypts a software key's PKCS#8 form at
// rest; only KeyPrivate returns it, never a listing.
type Reader interface {
	GetKey(ctx context.Context, id string) (Key, error)
	KeyPrivate(ctx context.Context, id string) ([]byte, error)
	LatestKey(ctx context.Context, org, name string) (Key, error)
	ListKeys(ctx context.Context, f Filter) ([]Key, error)
}

// Tx is what a change of a key gets: the transaction it runs in.
type Tx interface {
	Reader
	Inserter
	// UpdateKeyState moves a key from state `from` to k.State, also writing
	// RotatedAt and ReplacedBy; Conflict when it was not in `from`.
	UpdateKeyState(ctx context.Context, k Key, from State) error
}

// TxFunc runs fn in one transaction of the store.
type TxFunc func(ctx context.Context, fn func(Tx) error) error

// HSM makes and finds keys on a PKCS#11 token; the key's ID is its label.
type HSM interface {
	Generate(ctx context.Context, alg keys.Algorithm, id string) (keys.Signer, error)
	Find(ctx context.Context, id string) (keys.Signer, error)
}

// ErrNoHSM means a PKCS#11 key was asked for but no token is configured.
var ErrNoHSM = errors.New("no PKCS#11 token is configured (--pkcs11-module, --pkcs11-token, --pkcs11-pin)")

// Deps are what the key service is built from. HSM may be nil (no token
// configured); Now and Rand are required.
type Deps struct {
	Store Reader
	Tx    TxFunc
	HSM   HSM
	Now   func() time.Time
	Rand  io.Reader
}

// Service manages keys.
type Service struct {
	store Reader
	tx    TxFunc
	hsm   HSM // nil when no token is configured
	now   func() time.Time
	rand  io.Reader
}

// New returns a key service.
func New(d Deps) *Service {
	return &Service{store: d.Store, tx: d.Tx, hsm: d.HSM, now: func() time.Time { return d.Now().UTC().Truncate(time.Microsecond) }, rand: d.Rand}
}

// NewKey is what creating a key takes.
type NewKey struct {
	Org       string
	Name      string
	Purpose   Purpose
	Algorithm keys.Algorithm // default SM2-SM3
	Backend   Backend        // default software
}

var nameRule = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Create makes a key pair and stores version 1 of the named key.
func (s *Service) Create(ctx context.Context, n NewKey) (Key, error) {
	alg, err := s.check(ctx, &n)
	if err != nil {
		return Key{}, err
	}
	return s.make(ctx, n.Org, n.Name, 1, n.Purpose, alg, n.Backend, nil)
}

// check applies the defaults to n and validates it, including that no key
// of its name exists yet.
func (s *Service) check(ctx context.Context, n *NewKey) (keys.Algorithm, error) {
	if n.Algorithm == "" {
		n.Algorithm = keys.DefaultAlgorithm
	}
	if n.Backend == "" {
		n.Backend = Software
	}
	var fs apperr.Fields
	if !nameRule.MatchString(n.Name) {
		fs.Add("name", "pattern", "1 to 64 of a-z 0-9 . _ -, starting with a letter or digit")
	}
	if !slices.Contains(Purposes(), n.Purpose) {
		fs.Add("purpose", "enum", "purpose is seal, license-signing, presentation, checkpoint, ca or status-list")
	}
	alg, err := keys.ParseAlgorithm(string(n.Algorithm))
	if err != nil {
		fs.Add("algorithm", "enum", "algorithm is SM2-SM3, ECDSA-P256-SHA256 or Ed25519")
	}
	if n.Backend != Software && n.Backend != PKCS11 {
		fs.Add("backend", "enum", "backend is software or pkcs11")
	}
	if err := fs.Err(); err != nil {
		return "", err
	}
	if _, err := s.store.LatestKey(ctx, n.Org, n.Name); err == nil {
		return "", &apperr.Error{Kind: apperr.Conflict, Detail: "a key of this name exists; rotate it instead",
			Fields: []apperr.FieldError{{Field: "name", Rule: "unique"}}}
	} else if !errors.Is(err, apperr.NotFound) {
		return "", err
	}
	return alg, nil
}

// Ensure returns the latest version of the key n names, creating it as n
// asks when there is none. Platform keys made on first use (the seal maker,
// the audit checkpoint key) come through here, so two processes starting
// at once end up with one key.
func (s *Service) Ensure(ctx context.Context, n NewKey) (Key, error) {
	k, err := s.Resolve(ctx, n.Org, n.Name)
	if errors.Is(err, apperr.NotFound) {
		k, err = s.Create(ctx, n)
		if errors.Is(err, apperr.Conflict) { // made meanwhile by another process
			k, err = s.Resolve(ctx, n.Org, n.Name)
		}
	}
	return k, err
}

// CheckpointKeyName is the platform key that signs audit log checkpoints.
const CheckpointKeyName = "audit-checkpoint"

// CheckpointSigner returns the Ed25519 signer of the platform's audit log
// checkpoints, making the key on first use.
func (s *Service) CheckpointSigner(ctx context.Context, platform string) (keys.Signer, error) {
	k, err := s.Ensure(ctx, NewKey{Org: platform, Name: CheckpointKeyName, Purpose: Checkpoint, Algorithm: keys.Ed25519})
	if err != nil {
		return nil, err
	}
	signer, _, err := s.Signer(ctx, k.ID)
	return signer, err
}

// StatusListKeyName is the platform key that signs status list
// credentials (docs/status-lists.md).
const StatusListKeyName = "status-list"

// StatusListSigner returns the signer of the platform's status list
// credentials and its key, making the key with algorithm alg (SM2-SM3 when
// empty) on first use. A key of that name made beforehand by an operator
// is used as it is, whatever its algorithm: that is how ECDSA P-256 (and
// so the W3C suite ecdsa-jcs-2019) is chosen instead of SM2. A key of that
// name made for another purpose is refused.
func (s *Service) StatusListSigner(ctx context.Context, platform string, alg keys.Algorithm) (keys.Signer, Key, error) {
	return s.platformSigner(ctx, platform, StatusListKeyName, StatusList, alg)
}

// PresentationKeyName is the platform key that signs holders' QR
// presentations (docs/qr-format.md).
const PresentationKeyName = "presentation"

// PresentationSigner returns the signer of the platform's QR presentations
// and its key, making the key with algorithm alg (SM2-SM3 when empty) on
// first use. As for StatusListSigner, a key of that name an operator made
// beforehand is used whatever its algorithm: that is how ES256 (ECDSA
// P-256) is chosen instead of SM2.
func (s *Service) PresentationSigner(ctx context.Context, platform string, alg keys.Algorithm) (keys.Signer, Key, error) {
	return s.platformSigner(ctx, platform, PresentationKeyName, Presentation, alg)
}

// platformSigner returns the signer of the platform key name, made on
// first use for purpose; a key of that name made for another purpose is
// refused.
func (s *Service) platformSigner(ctx context.Context, platform, name string, purpose Purpose, alg keys.Algorithm) (keys.Signer, Key, error) {
	k, err := s.Ensure(ctx, NewKey{Org: platform, Name: name, Purpose: purpose, Algorithm: alg})
	if err != nil {
		return nil, Key{}, err
	}
	if k.Purpose != purpose {
		return nil, k, apperr.New(apperr.Conflict, "key %s of %s is for %s, not %s", name, platform, k.Purpose, purpose)
	}
	return s.Signer(ctx, k.ID)
}

// Pending is a key pair made but not yet stored. A business operation that
// needs a fresh key (making a seal) stores it with Insert in its own
// transaction, so the key exists in the store exactly when the record that
// uses it does.
type Pending struct {
	Key    Key
	Signer keys.Signer
	pkcs8  []byte
}

// Inserter is the part of a transaction that Pending.Insert writes to: a
// key is stored with its audit entry, in the transaction of the record that
// uses it.
type Inserter interface {
	InsertKey(ctx context.Context, k Key, privatePKCS8 []byte) error
	auditlog.Appender
}

// Insert stores the pending key through st, normally the caller's
// transaction. A key of the same name and version gives apperr.Conflict.
func (p Pending) Insert(ctx context.Context, st Inserter) error {
	if err := st.InsertKey(ctx, p.Key, p.pkcs8); err != nil {
		if errors.Is(err, apperr.Conflict) {
			return apperr.New(apperr.Conflict, "key %s version %d was made meanwhile", p.Key.Name, p.Key.Version)
		}
		return err
	}
	k := p.Key
	return auditlog.Record(ctx, st, auditlog.Entry{At: k.CreatedAt, Org: k.Org, Action: "key.created", Subject: k.ID,
		Details: map[string]string{"name": k.Name, "version": strconv.Itoa(k.Version), "purpose": string(k.Purpose),
			"algorithm": string(k.Algorithm), "backend": string(k.Backend)}})
}

// Prepare validates n and makes version 1 of the key pair without storing
// it; see Pending.
func (s *Service) Prepare(ctx context.Context, n NewKey) (Pending, error) {
	alg, err := s.check(ctx, &n)
	if err != nil {
		return Pending{}, err
	}
	return s.generate(ctx, n.Org, n.Name, 1, n.Purpose, alg, n.Backend)
}

// make generates a key pair and stores it; with prev, in the same
// transaction prev is retired in favour of the new key.
func (s *Service) make(ctx context.Context, org, name string, version int, purpose Purpose, alg keys.Algorithm, backend Backend, prev *Key) (Key, error) {
	p, err := s.generate(ctx, org, name, version, purpose, alg, backend)
	if err != nil {
		return Key{}, err
	}
	err = s.tx(ctx, func(st Tx) error {
		if prev != nil {
			old := *prev
			old.State, old.RotatedAt, old.ReplacedBy = Retired, &p.Key.CreatedAt, p.Key.ID
			if err := st.UpdateKeyState(ctx, old, prev.State); err != nil {
				return err
			}
			if err := auditlog.Record(ctx, st, auditlog.Entry{At: p.Key.CreatedAt, Org: old.Org, Action: "key.retired", Subject: old.ID,
				Details: map[string]string{"replaced_by": p.Key.ID}}); err != nil {
				return err
			}
		}
		return p.Insert(ctx, st)
	})
	if err != nil {
		return Key{}, err
	}
	return p.Key, nil
}

// generate makes a key pair in the backend and its record, storing nothing.
func (s *Service) generate(ctx context.Context, org, name string, version int, purpose Purpose, alg keys.Algorithm, backend Backend) (Pending, error) {
	id, err := s.newID()
	if err != nil {
		return Pending{}, err
	}
	var signer keys.Signer
	var pkcs8 []byte
	switch backend {
	case Software:
		sk, err := keys.GenerateSoftware(alg, s.rand)
		if err != nil {
			return Pending{}, err
		}
		if pkcs8, err = sk.MarshalPKCS8(); err != nil {
			return Pending{}, err
		}
		signer = sk
	case PKCS11:
		if s.hsm == nil {
			return Pending{}, apperr.Wrap(apperr.Unavailable, ErrNoHSM, "%s", ErrNoHSM.Error())
		}
		if signer, err = s.hsm.Generate(ctx, alg, id); err != nil {
			return Pending{}, apperr.Wrap(apperr.Invalid, err, "the PKCS#11 token could not make a %s key: %v", alg, err)
		}
	}
	pem, err := keys.MarshalPublicPEM(signer.Public())
	if err != nil {
		return Pending{}, err
	}
	k := Key{ID: id, Org: org, Name: name, Version: version, Purpose: purpose, Algorithm: alg, Backend: backend,
		State: Active, PublicPEM: pem, CreatedAt: s.now()}
	return Pending{Key: k, Signer: signer, pkcs8: pkcs8}, nil
}

// Get returns a key's record.
func (s *Service) Get(ctx context.Context, id string) (Key, error) {
	k, err := s.store.GetKey(ctx, id)
	if errors.Is(err, apperr.NotFound) {
		return Key{}, apperr.New(apperr.NotFound, "no key has id %s", id)
	}
	return k, err
}

// Resolve finds a key by ID, or by name in org (its latest version).
func (s *Service) Resolve(ctx context.Context, org, ref string) (Key, error) {
	k, err := s.store.GetKey(ctx, ref)
	if err == nil || !errors.Is(err, apperr.NotFound) {
		return k, err
	}
	k, err = s.store.LatestKey(ctx, org, ref)
	if errors.Is(err, apperr.NotFound) {
		return Key{}, apperr.New(apperr.NotFound, "no key has id or name %s", ref)
	}
	return k, err
}

// List returns keys ordered by ID, at most f.Limit of them after f.After.
func (s *Service) List(ctx context.Context, f Filter) ([]Key, error) {
	return s.store.ListKeys(ctx, f)
}

// Page returns one page of keys; the cursor is opaque to callers.
func (s *Service) Page(ctx context.Context, f Filter, limit int, cursor string) (page.Page[Key], error) {
	return page.Fetch(limit, cursor, func(limit int, after string) ([]Key, error) {
		f.Limit, f.After = limit, after
		return s.store.ListKeys(ctx, f)
	}, func(k Key) string { return k.ID })
}

// ErrNotActive means the key may not sign now (disabled or retired); a
// caller should use the key's current version or ask an operator.
var ErrNotActive = errors.New("key is not active")

// Signer returns a signer for an active key.
func (s *Service) Signer(ctx context.Context, id string) (keys.Signer, Key, error) {
	return s.SignerVia(ctx, s.store, id)
}

// KeyReader is what loading a signer reads: the store's plain handle, or
// the caller's transaction.
type KeyReader interface {
	GetKey(ctx context.Context, id string) (Key, error)
	KeyPrivate(ctx context.Context, id string) ([]byte, error)
}

// SignerVia is Signer reading the key through r, so that a caller signing
// inside a transaction reads it there rather than on a second connection
// of the pool (which a pool full of such transactions would never give).
func (s *Service) SignerVia(ctx context.Context, r KeyReader, id string) (keys.Signer, Key, error) {
	k, err := r.GetKey(ctx, id)
	if errors.Is(err, apperr.NotFound) {
		return nil, Key{}, apperr.New(apperr.NotFound, "no key has id %s", id)
	}
	if err != nil {
		return nil, Key{}, err
	}
	if k.State != Active {
		return nil, k, apperr.Wrap(apperr.Conflict, ErrNotActive, "key %s is %s and cannot sign", k.ID, k.State)
	}
	switch k.Backend {
	case Software:
		der, err := r.KeyPrivate(ctx, k.ID)
		if err != nil {
			return nil, k, err
		}
		sk, err := keys.ParseSoftwarePKCS8(k.Algorithm, der)
		clear(der)
		if err != nil {
			return nil, k, fmt.Errorf("key %s: %w", k.ID, err)
		}
		return sk, k, nil
	default:
		if s.hsm == nil {
			return nil, k, apperr.Wrap(apperr.Unavailable, ErrNoHSM, "%s", ErrNoHSM.Error())
		}
		signer, err := s.hsm.Find(ctx, k.ID)
		if err != nil {
			return nil, k, apperr.Wrap(apperr.Unavailable, err, "key %s is not on the PKCS#11 token: %v", k.ID, err)
		}
		// A token holds keys of several algorithms under ids it does not
		// check against the store; signing with another algorithm than
		// the record says would make signatures nobody can verify.
		if got := signer.Algorithm(); got != k.Algorithm {
			return nil, k, apperr.Wrap(apperr.Internal, keys.ErrAlgorithmMismatch, "key %s is %s in the store but %s on the PKCS#11 token", k.ID, k.Algorithm, got)
		}
		return signer, k, nil
	}
}

// Sign signs message with an active key.
func (s *Service) Sign(ctx context.Context, id string, message []byte) ([]byte, Key, error) {
	signer, k, err := s.Signer(ctx, id)
	if err != nil {
		return nil, k, err
	}
	sig, err := signer.Sign(ctx, message)
	if err != nil {
		return nil, k, fmt.Errorf("sign with key %s: %w", k.ID, err)
	}
	return sig, k, nil
}

// Verify checks a signature with a key in any state: retired and disabled
// keys still verify what they signed.
func (s *Service) Verify(ctx context.Context, id string, message, sig []byte) (Key, error) {
	k, err := s.Get(ctx, id)
	if err != nil {
		return Key{}, err
	}
	pub, err := k.Public()
	if err != nil {
		return k, err
	}
	return k, keys.Verify(k.Algorithm, pub, message, sig)
}

// Rotate makes the next version of a key and retires the current one. Only
// the latest version rotates.
func (s *Service) Rotate(ctx context.Context, id string) (Key, error) {
	k, err := s.Get(ctx, id)
	if err != nil {
		return Key{}, err
	}
	if k.State == Retired {
		return Key{}, apperr.New(apperr.Conflict, "key %s was rotated already (replaced by %s)", k.ID, k.ReplacedBy)
	}
	return s.make(ctx, k.Org, k.Name, k.Version+1, k.Purpose, k.Algorithm, k.Backend, &k)
}

// Disable stops an active key from signing.
func (s *Service) Disable(ctx context.Context, id string) (Key, error) {
	return s.setState(ctx, id, Active, Disabled)
}

// Enable lets a disabled key sign again.
func (s *Service) Enable(ctx context.Context, id string) (Key, error) {
	return s.setState(ctx, id, Disabled, Active)
}

func (s *Service) setState(ctx context.Context, id string, from, to State) (Key, error) {
	var out Key
	err := s.tx(ctx, func(st Tx) error {
		k, err := st.GetKey(ctx, id)
		if errors.Is(err, apperr.NotFound) {
			return apperr.New(apperr.NotFound, "no key has id %s", id)
		}
		if err != nil {
			return err
		}
		if k.State == to {
			out = k
			return nil
		}
		if k.State != from {
			return apperr.New(apperr.Conflict, "key %s is %s, not %s", k.ID, k.State, from)
		}
		k.State = to
		if err := st.UpdateKeyState(ctx, k, from); err != nil {
			return err
		}
		out = k
		action := map[State]string{Disabled: "key.disabled", Active: "key.enabled"}[to]
		return auditlog.Record(ctx, st, auditlog.Entry{At: s.now(), Org: k.Org, Action: action, Subject: k.ID,
			Details: map[string]string{"name": k.Name, "from": string(from)}})
	})
	return out, err
}

func (s *Service) newID() (string, error) {
	b := make([]byte, 12)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("key id randomness: %w", err)
	}
	return fmt.Sprintf("key_%x", b), nil
}
