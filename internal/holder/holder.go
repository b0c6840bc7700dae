// Package holder signs holders (持证主体) in: natural persons by citizen ID
// number, organizations by credit code, acting through a person. A holder
// signs in through an identity provider (OpenID Connect, oidc.go; or the
// demo login) and gets a holder session: an opaque bearer secret of its
// own prefix, apart from staff API tokens, that reaches only the holder
// operations (authz.Holders) about the holder's own licenses.
package holder

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/ids"
)

// SessionPrefix starts every holder session secret: scanners spot leaked
// ones, and the server tells them from staff tokens (zz_) without a lookup.
const SessionPrefix = "zh_"

// Holder is a holder known to the platform.
type Holder struct {
	ID   string // hol_…
	Kind catalog.HolderKind
	// Identifier is the normalized citizen ID number or credit code. The
	// store keeps it encrypted and finds it by Index, its blind index,
	// the same index licenses keep of their holder.
	Identifier string
	Index      string
	Name       string
	CreatedAt  time.Time
}

// Session is a holder session. The secret is never stored: only its
// SHA-256 (it has 256 random bits) and a visible prefix.
type Session struct {
	ID             string // hse_…
	HolderID       string
	Hash           []byte
	Prefix         string
	Method         string // how the holder signed in: oidc or demo
	Representative string // the person acting for an organization; "" for a person
	CreatedAt      time.Time
	LastSeen       time.Time
	ExpiresAt      time.Time
	RevokedAt      *time.Time
}

// Active reports whether the session may be used at t, idle the longest
// for idle.
func (s Session) Active(t time.Time, idle time.Duration) bool {
	return s.RevokedAt == nil && t.Before(s.ExpiresAt) && t.Before(s.LastSeen.Add(idle))
}

// Identity is an external identity: an OpenID provider's issuer and the
// subject it names a person by.
type Identity struct {
	Issuer  string
	Subject string
}

// Reader reads holders and sessions. *store.DB implements it.
type Reader interface {
	GetHolder(ctx context.Context, id string) (Holder, error)
	// HolderByIdentifier finds a holder of kind by its normalized
	// identifier, through the blind index; NotFound when there is none.
	HolderByIdentifier(ctx context.Context, kind catalog.HolderKind, identifier string) (Holder, error)
	// HolderOfIdentity returns the holder of kind the identity signs in
	// as; NotFound when it is not linked yet.
	HolderOfIdentity(ctx context.Context, id Identity, kind catalog.HolderKind) (string, error)
	GetHolderSession(ctx context.Context, id string) (Session, error)
}

// Store is what the service holds besides transactions.
type Store interface {
	Reader
	// HolderSessionByHash finds a session by the SHA-256 of its secret.
	HolderSessionByHash(ctx context.Context, hash []byte) (Session, error)
	// TouchHolderSession moves a session's last use forward to at, by
	// itself: activity, not a change anyone audits.
	TouchHolderSession(ctx context.Context, id string, at time.Time) error
	// BeginHolderLogin keeps the hash of a login's state, begun at now,
	// until expires.
	BeginHolderLogin(ctx context.Context, stateHash []byte, now, expires time.Time) error
	// TakeHolderLogin deletes the login of the state hash and reports it
	// found unexpired at now; NotFound otherwise. It succeeds once.
	TakeHolderLogin(ctx context.Context, stateHash []byte, now time.Time) error
	// DeriveHolderSecret returns the HMAC-SM3 of value under a key of the
	// master key named purpose, hex: what a login derives from its state.
	DeriveHolderSecret(purpose, value string) (string, error)
}

// Tx is what a holder transaction writes through.
type Tx interface {
	Reader
	auditlog.Appender
	// InsertHolder stores a holder; Conflict when one of its kind and
	// identifier exists.
	InsertHolder(ctx context.Context, h Holder) error
	// LinkHolderIdentity links an identity to a holder of kind; Conflict
	// when it is linked already.
	LinkHolderIdentity(ctx context.Context, id Identity, kind catalog.HolderKind, holderID string, at time.Time) error
	InsertHolderSession(ctx context.Context, s Session) error
	// RevokeHolderSession revokes an active session at at.
	RevokeHolderSession(ctx context.Context, id string, at time.Time) error
}

// TxFunc runs fn in one transaction of the store.
type TxFunc func(ctx context.Context, fn func(Tx) error) error

// Config is how long holder sessions live.
type Config struct {
	// Idle ends a session not used for this long; default DefaultIdle.
	Idle time.Duration
	// Max ends a session this long after it began; default DefaultMax.
	Max time.Duration
	// Demo turns on the demo login (DemoSignIn): anyone signs in as any
	// holder by naming it. Only `zhengzhao demo` turns it on.
	Demo bool
}

// Session lifetimes: a holder at a counter or at home uses the platform
// for minutes, a working day at most.
const (
	DefaultIdle = 30 * time.Minute
	DefaultMax  = 12 * time.Hour
)

// WithDefaults fills zero fields with the defaults.
func (c Config) WithDefaults() Config {
	if c.Idle == 0 {
		c.Idle = DefaultIdle
	}
	if c.Max == 0 {
		c.Max = DefaultMax
	}
	return c
}

// Validate refuses lifetimes that make no sense: idle between one minute
// and the maximum, the maximum at most seven days.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var fs apperr.Fields
	if c.Idle < time.Minute || c.Idle > c.Max {
		fs.Add("holder-session-idle", "range", "between one minute and the session maximum")
	}
	if c.Max < time.Minute || c.Max > 7*24*time.Hour {
		fs.Add("holder-session-max", "range", "between one minute and seven days")
	}
	return fs.Err()
}

// Deps are what the service is built from.
type Deps struct {
	Store  Store
	Tx     TxFunc
	Now    func() time.Time
	Rand   io.Reader
	Config Config
}

// Service keeps holders and their sessions.
type Service struct {
	store Store
	tx    TxFunc
	now   func() time.Time
	rand  io.Reader
	cfg   Config
}

// New returns the holder service; it refuses a Config that Validate
// refuses.
func New(d Deps) (*Service, error) {
	if err := d.Config.Validate(); err != nil {
		return nil, err
	}
	return &Service{store: d.Store, tx: d.Tx, now: d.Now, rand: d.Rand, cfg: d.Config.WithDefaults()}, nil
}

// Config returns the session lifetimes in force.
func (s *Service) Config() Config { return s.cfg }

// Claims are what an identity provider says of the person signing in.
type Claims struct {
	Kind catalog.HolderKind
	// Identifier is the citizen ID number of a person, or the credit code
	// of the organization the person acts for.
	Identifier string
	// Name is the holder's name: the person's, or the organization's.
	Name string
	// Representative names the person acting for an organization.
	Representative string
}

// check normalizes and validates c; field names the claim for problems.
func (c *Claims) check() error {
	var fs apperr.Fields
	c.Name, c.Representative = strings.TrimSpace(c.Name), strings.TrimSpace(c.Representative)
	switch c.Kind {
	case catalog.HolderPerson:
		c.Identifier = ids.NormalizeCitizenID(c.Identifier)
		if err := ids.ValidateCitizenID(c.Identifier); err != nil {
			fs.Add("citizen_id", "citizen-id", err.Error())
		}
	case catalog.HolderOrganization:
		c.Identifier = ids.NormalizeCreditCode(c.Identifier)
		if err := ids.ValidateCreditCode(c.Identifier); err != nil {
			fs.Add("credit_code", "credit-code", err.Error())
		}
		fs.Name("representative", c.Representative, 100, true)
	default:
		fs.Add("kind", "enum", "person or organization")
	}
	fs.Name("name", c.Name, 100, true)
	return fs.Err()
}

// Ensure returns the holder c names, made on first sign-in. Concurrent
// first sign-ins of the same holder make one: the store refuses a second
// of the same kind and identifier, and the loser reads the winner's.
func (s *Service) Ensure(ctx context.Context, c Claims) (Holder, error) {
	if err := c.check(); err != nil {
		return Holder{}, err
	}
	return s.ensure(ctx, c, nil)
}

// ensure is Ensure on checked claims; link, when set, links an identity
// to the holder in the same transaction.
func (s *Service) ensure(ctx context.Context, c Claims, link *Identity) (Holder, error) {
	for attempt := 0; ; attempt++ {
		h, err := s.ensureOnce(ctx, c, link)
		if errors.Is(err, apperr.Conflict) && attempt == 0 {
			continue // another sign-in made the holder or the link meanwhile: read it
		}
		return h, err
	}
}

func (s *Service) ensureOnce(ctx context.Context, c Claims, link *Identity) (Holder, error) {
	var out Holder
	err := s.tx(ctx, func(st Tx) error {
		h, err := st.HolderByIdentifier(ctx, c.Kind, c.Identifier)
		switch {
		case errors.Is(err, apperr.NotFound):
			id, err := newID(s.rand, "hol")
			if err != nil {
				return err
			}
			h = Holder{ID: id, Kind: c.Kind, Identifier: c.Identifier, Name: c.Name, CreatedAt: s.now().UTC()}
			if err := st.InsertHolder(ctx, h); err != nil {
				return err
			}
			if err := auditlog.Append(ctx, st, auditlog.Entry{At: h.CreatedAt, Actor: h.ID, Org: orgOf(h), Action: "holder.registered",
				Subject: h.ID, Details: map[string]string{"kind": string(h.Kind)}}); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if link != nil {
			linked, err := st.HolderOfIdentity(ctx, *link, c.Kind)
			switch {
			case errors.Is(err, apperr.NotFound):
				if err := st.LinkHolderIdentity(ctx, *link, c.Kind, h.ID, s.now().UTC()); err != nil {
					return err
				}
			case err != nil:
				return err
			case linked != h.ID:
				// The provider now names another holder for the same
				// subject: a change that a person must look into, not a
				// sign-in to let through.
				return &apperr.Error{Kind: apperr.Forbidden, Detail: "this identity signs in as another holder",
					Fields: []apperr.FieldError{{Field: "identity", Rule: "linked", Detail: "the identity is linked to another holder"}}}
			}
		}
		out = h
		return nil
	})
	return out, err
}

// orgOf is the organization an audit entry about h belongs to: the
// organization holder itself, none for a person.
func orgOf(h Holder) string {
	if h.Kind == catalog.HolderOrganization {
		return h.Identifier
	}
	return ""
}

// SignIn starts a session for the holder: the secret, shown once, and the
// session. method says how the holder proved who it is.
func (s *Service) SignIn(ctx context.Context, h Holder, method, representative string) (string, Session, error) {
	raw := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, raw); err != nil {
		return "", Session{}, fmt.Errorf("session randomness: %w", err)
	}
	secret := SessionPrefix + base64.RawURLEncoding.EncodeToString(raw)
	id, err := newID(s.rand, "hse")
	if err != nil {
		return "", Session{}, err
	}
	now := s.now().UTC()
	ses := Session{ID: id, HolderID: h.ID, Hash: hashSecret(secret), Prefix: secret[:len(SessionPrefix)+6], Method: method, Representative: representative,
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(s.cfg.Max)}
	err = s.tx(ctx, func(st Tx) error {
		if err := st.InsertHolderSession(ctx, ses); err != nil {
			return err
		}
		details := map[string]string{"session": ses.ID, "prefix": ses.Prefix, "method": method, "expires_at": ses.ExpiresAt.Format(time.RFC3339)}
		if representative != "" {
			details["representative"] = representative
		}
		return auditlog.Append(ctx, st, auditlog.Entry{At: now, Actor: h.ID, Org: orgOf(h), Action: "holder.session.created",
			Subject: h.ID, Details: details})
	})
	if err != nil {
		return "", Session{}, err
	}
	return secret, ses, nil
}

// DemoSignIn signs in as the holder c names, without any proof: the demo
// login, NotFound unless Config.Demo turns it on.
func (s *Service) DemoSignIn(ctx context.Context, c Claims) (string, Session, Holder, error) {
	if !s.cfg.Demo {
		return "", Session{}, Holder{}, apperr.New(apperr.NotFound, "the demo login is off")
	}
	h, err := s.Ensure(ctx, c)
	if err != nil {
		return "", Session{}, Holder{}, err
	}
	secret, ses, err := s.SignIn(ctx, h, "demo", c.Representative)
	return secret, ses, h, err
}

// Owns reports whether secret is a holder session's, by its prefix.
func (s *Service) Owns(secret string) bool { return strings.HasPrefix(secret, SessionPrefix) }

// touchEvery is how stale a session's last use may be before a request
// records it again: idle expiry is that much coarser, and a busy holder
// writes its session row once per interval, not once per request.
func (s *Service) touchEvery() time.Duration { return max(s.cfg.Idle/30, time.Second) }

// Authenticate turns a session secret into an actor with Holder set.
// Every failure is the same Unauthenticated error.
func (s *Service) Authenticate(ctx context.Context, secret string) (*authz.Actor, error) {
	deny := apperr.New(apperr.Unauthenticated, "the holder session is not valid")
	if !s.Owns(secret) || len(secret) > 100 {
		return nil, deny
	}
	ses, err := s.store.HolderSessionByHash(ctx, hashSecret(secret))
	if errors.Is(err, apperr.NotFound) {
		return nil, deny
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !ses.Active(now, s.cfg.Idle) {
		return nil, deny
	}
	h, err := s.store.GetHolder(ctx, ses.HolderID)
	if err != nil {
		return nil, err
	}
	if now.Sub(ses.LastSeen) >= s.touchEvery() {
		if err := s.store.TouchHolderSession(ctx, ses.ID, now.UTC()); err != nil {
			return nil, err
		}
	}
	return ActorOf(h, ses), nil
}

// ActorOf is the actor of holder h acting through session ses.
func ActorOf(h Holder, ses Session) *authz.Actor {
	return &authz.Actor{AccountID: h.ID, AccountName: h.Name, Holder: &authz.Holder{ID: h.ID, Kind: string(h.Kind), Index: h.Index,
		Name: h.Name, SessionID: ses.ID, Representative: ses.Representative}}
}

// Current returns the session the actor came with and its holder.
func (s *Service) Current(ctx context.Context, actor *authz.Actor) (Session, Holder, error) {
	if actor == nil || actor.Holder == nil {
		return Session{}, Holder{}, apperr.New(apperr.Forbidden, "only a holder session has a holder")
	}
	ses, err := s.store.GetHolderSession(ctx, actor.Holder.SessionID)
	if err != nil {
		return Session{}, Holder{}, err
	}
	h, err := s.store.GetHolder(ctx, ses.HolderID)
	if err != nil {
		return Session{}, Holder{}, err
	}
	return ses, h, nil
}

// SignOut revokes the actor's session; signing out twice is not an error.
func (s *Service) SignOut(ctx context.Context, actor *authz.Actor) error {
	if actor == nil || actor.Holder == nil {
		return apperr.New(apperr.Forbidden, "only a holder session signs out")
	}
	return s.tx(ctx, func(st Tx) error {
		ses, err := st.GetHolderSession(ctx, actor.Holder.SessionID)
		if err != nil {
			return err
		}
		if ses.RevokedAt != nil {
			return nil
		}
		now := s.now().UTC()
		if err := st.RevokeHolderSession(ctx, ses.ID, now); err != nil {
			return err
		}
		org := ""
		if actor.Holder.Kind == string(catalog.HolderOrganization) {
			h, err := st.GetHolder(ctx, ses.HolderID)
			if err != nil {
				return err
			}
			org = h.Identifier
		}
		return auditlog.Append(ctx, st, auditlog.Entry{At: now, Actor: actor.Holder.ID, Org: org, Action: "holder.session.ended",
			Subject: actor.Holder.ID, Details: map[string]string{"session": ses.ID, "prefix": ses.Prefix}})
	})
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func newID(rand io.Reader, kind string) (string, error) {
	b := make([]byte, 12)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", fmt.Errorf("identifier randomness: %w", err)
	}
	return kind + "_" + hex.EncodeToString(b), nil
}
