package org

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/page"
	"github.com/zhengzhao/zhengzhao/internal/password"
)

// Account is a staff account of one organization.
type Account struct {
	ID           string
	Org          string
	Name         string
	Roles        []authz.Role
	PasswordHash string // argon2id, PHC string; "" when the account has no console password
	Status       Status
	CreatedAt    time.Time
}

// Token is an API token. The secret itself is never stored: only its
// SHA-256 hash (the secret has 256 random bits, so a fast hash is enough) and
// a visible prefix that lets people tell tokens apart.
type Token struct {
	ID          string
	AccountID   string
	Org         string // of the account; filled by the store on reads
	Prefix      string
	Hash        []byte
	Roles       []authz.Role
	Description string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	RevokedAt   *time.Time
}

// Active reports whether the token may be used at t.
func (t Token) Active(at time.Time) bool {
	return t.RevokedAt == nil && at.Before(t.ExpiresAt)
}

// TokenFilter selects tokens to list.
type TokenFilter struct {
	Org       string
	AccountID string
	After     string // token ID the page starts after
	Limit     int
}

// NewAccount is what creating an account takes.
type NewAccount struct {
	Org      string
	Name     string
	Roles    []authz.Role
	Password string // optional console password
}

// CreateAccount stores a new active account. Roles must fit the organization:
// platform-admin and auditor exist only in the platform organization.
func (s *Service) CreateAccount(ctx context.Context, n NewAccount) (Account, error) {
	id, err := s.newID("acc")
	if err != nil {
		return Account{}, err
	}
	a := Account{ID: id, Org: ids.NormalizeCreditCode(n.Org), Name: strings.TrimSpace(n.Name), Roles: n.Roles, Status: Active, CreatedAt: s.now().UTC()}
	var fs apperr.Fields
	checkName(&fs, "name", a.Name, 100)
	if len(a.Roles) == 0 {
		fs.Add("roles", "required", "at least one role is required")
	}
	if n.Password != "" {
		if len(n.Password) < 12 {
			fs.Add("password", "min-length", "at least 12 characters")
		} else if a.PasswordHash, err = password.Hash(n.Password, s.rand); err != nil {
			return Account{}, err
		}
	}
	if err := fs.Err(); err != nil {
		return Account{}, err
	}
	err = s.tx(ctx, func(st Tx) error {
		o, err := st.GetOrg(ctx, a.Org)
		if errors.Is(err, apperr.NotFound) {
			return apperr.New(apperr.NotFound, "no organization has credit code %s", a.Org)
		}
		if err != nil {
			return err
		}
		if o.Status != Active {
			return apperr.New(apperr.Conflict, "organization %s is inactive", o.CreditCode)
		}
		allowed := rolesAllowedIn(o)
		for i, r := range a.Roles {
			if !slices.Contains(allowed, r) {
				fs.Add(fmt.Sprintf("roles[%d]", i), "role-in-org", fmt.Sprintf("role %s is not available in this organization", r))
			}
		}
		if err := fs.Err(); err != nil {
			return err
		}
		if err := st.InsertAccount(ctx, a); err != nil {
			if errors.Is(err, apperr.Conflict) {
				return conflictField("name", "unique", "the organization has an account of this name already")
			}
			return err
		}
		return auditlog.Record(ctx, st, auditlog.Entry{At: a.CreatedAt, Org: a.Org, Action: "account.created", Subject: a.ID,
			Details: map[string]string{"name": a.Name, "roles": joined(a.Roles)}})
	})
	if err != nil {
		return Account{}, err
	}
	return a, nil
}

// EnsureAccount returns the named account of org, creating it with roles if
// it does not exist and adding none: an existing account must already hold
// the roles asked for.
func (s *Service) EnsureAccount(ctx context.Context, org, name string, roles []authz.Role) (Account, error) {
	a, err := s.store.FindAccount(ctx, ids.NormalizeCreditCode(org), strings.TrimSpace(name))
	switch {
	case errors.Is(err, apperr.NotFound):
		a, err = s.CreateAccount(ctx, NewAccount{Org: org, Name: name, Roles: roles})
		if errors.Is(err, apperr.Conflict) { // created meanwhile by another process
			return s.store.FindAccount(ctx, ids.NormalizeCreditCode(org), strings.TrimSpace(name))
		}
		return a, err
	case err != nil:
		return Account{}, err
	}
	for _, r := range roles {
		if !slices.Contains(a.Roles, r) {
			return Account{}, apperr.New(apperr.Conflict, "account %s of %s does not hold role %s", a.Name, a.Org, r)
		}
	}
	return a, nil
}

// GetAccount returns one account.
func (s *Service) GetAccount(ctx context.Context, id string) (Account, error) {
	a, err := s.store.GetAccount(ctx, id)
	if errors.Is(err, apperr.NotFound) {
		return Account{}, apperr.New(apperr.NotFound, "no account has id %s", id)
	}
	return a, err
}

// ListAccounts returns one page of an organization's accounts.
func (s *Service) ListAccounts(ctx context.Context, org string, limit int, cursor string) (page.Page[Account], error) {
	limit, after, err := page.Args(limit, cursor)
	if err != nil {
		return page.Page[Account]{}, err
	}
	if _, err := s.GetOrg(ctx, org); err != nil {
		return page.Page[Account]{}, err
	}
	items, err := s.store.ListAccounts(ctx, ids.NormalizeCreditCode(org), after, limit+1)
	if err != nil {
		return page.Page[Account]{}, err
	}
	return page.Of(items, limit, func(a Account) string { return a.ID }), nil
}

// Token lifetimes.
const (
	DefaultTokenTTL = 90 * 24 * time.Hour
	MaxTokenTTL     = 5 * 365 * 24 * time.Hour
)

// TokenPrefix starts every token secret, so that scanners can spot leaked ones.
const TokenPrefix = "zz_"

// NewToken is what issuing a token takes.
type NewToken struct {
	AccountID   string
	Roles       []authz.Role // empty: every role of the account
	TTL         time.Duration
	Description string
}

// IssueToken creates a token and returns its secret, which is shown once and
// never stored.
func (s *Service) IssueToken(ctx context.Context, n NewToken) (string, Token, error) {
	secret, t, err := s.newToken(ctx, n)
	if err != nil {
		return "", Token{}, err
	}
	err = s.tx(ctx, func(st Tx) error { return insertToken(ctx, st, t) })
	if err != nil {
		return "", Token{}, err
	}
	return secret, t, nil
}

// ReplaceToken issues a token as IssueToken does and, in the same
// transaction, revokes the account's active tokens of the same description,
// returning how many it revoked. A tool that hands out one token per account
// and run (the demo) so leaves one valid token, not one more per run.
func (s *Service) ReplaceToken(ctx context.Context, n NewToken) (string, Token, int, error) {
	secret, t, err := s.newToken(ctx, n)
	if err != nil {
		return "", Token{}, 0, err
	}
	var revoked int
	err = s.tx(ctx, func(st Tx) error {
		revoked = 0 // the transaction may run again
		for after := ""; ; {
			page, err := st.ListTokens(ctx, TokenFilter{AccountID: t.AccountID, After: after, Limit: 100})
			if err != nil {
				return err
			}
			for _, old := range page {
				if old.Description != t.Description || !old.Active(t.CreatedAt) {
					continue
				}
				if err := st.RevokeToken(ctx, old.ID, t.CreatedAt); err != nil {
					return err
				}
				if err := auditlog.Record(ctx, st, auditlog.Entry{At: t.CreatedAt, Org: old.Org, Action: "token.revoked", Subject: old.ID,
					Details: map[string]string{"account": old.AccountID, "prefix": old.Prefix, "replaced_by": t.ID}}); err != nil {
					return err
				}
				revoked++
			}
			if len(page) < 100 {
				break
			}
			after = page[len(page)-1].ID
		}
		return insertToken(ctx, st, t)
	})
	if err != nil {
		return "", Token{}, 0, err
	}
	return secret, t, revoked, nil
}

// insertToken stores t with its audit entry, in st's transaction.
func insertToken(ctx context.Context, st Tx, t Token) error {
	// The account and its organization as they are now decide: either may
	// have been deactivated since newToken read them.
	a, err := st.GetAccount(ctx, t.AccountID)
	if err != nil {
		return err
	}
	o, err := st.GetOrg(ctx, a.Org)
	if err != nil {
		return err
	}
	if a.Status != Active || o.Status != Active {
		return apperr.New(apperr.Conflict, "account %s or its organization %s is inactive", a.ID, o.CreditCode)
	}
	if err := st.InsertToken(ctx, t); err != nil {
		return err
	}
	return auditlog.Record(ctx, st, auditlog.Entry{At: t.CreatedAt, Org: t.Org, Action: "token.issued", Subject: t.ID,
		Details: map[string]string{"account": t.AccountID, "prefix": t.Prefix, "roles": joined(t.Roles), "expires_at": t.ExpiresAt.Format(time.RFC3339)}})
}

// newToken validates n and makes the token and its secret, not yet stored.
func (s *Service) newToken(ctx context.Context, n NewToken) (string, Token, error) {
	var fs apperr.Fields
	ttl := n.TTL
	switch {
	case ttl == 0:
		ttl = DefaultTokenTTL
	case ttl < time.Minute || ttl > MaxTokenTTL:
		fs.Add("ttl", "range", "a token lives between one minute and five years")
	}
	desc := strings.TrimSpace(n.Description)
	fs.Name("description", desc, 200, false)
	if err := fs.Err(); err != nil {
		return "", Token{}, err
	}
	a, err := s.GetAccount(ctx, n.AccountID)
	if err != nil {
		return "", Token{}, err
	}
	if a.Status != Active {
		return "", Token{}, apperr.New(apperr.Conflict, "account %s is inactive", a.ID)
	}
	roles := n.Roles
	if len(roles) == 0 {
		roles = a.Roles
	}
	for i, r := range roles {
		if !slices.Contains(a.Roles, r) {
			fs.Add(fmt.Sprintf("roles[%d]", i), "role-of-account", fmt.Sprintf("the account does not hold role %s", r))
		}
	}
	if err := fs.Err(); err != nil {
		return "", Token{}, err
	}
	raw := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, raw); err != nil {
		return "", Token{}, fmt.Errorf("token randomness: %w", err)
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	id, err := s.newID("tok")
	if err != nil {
		return "", Token{}, err
	}
	now := s.now().UTC()
	t := Token{
		ID: id, AccountID: a.ID, Org: a.Org, Prefix: secret[:len(TokenPrefix)+6], Hash: hashSecret(secret),
		Roles: roles, Description: desc, CreatedAt: now, ExpiresAt: now.Add(ttl),
	}
	return secret, t, nil
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Authenticate turns a token secret into an actor. Every failure is the same
// Unauthenticated error, so that a caller learns nothing about which check
// failed.
func (s *Service) Authenticate(ctx context.Context, secret string) (*authz.Actor, error) {
	deny := apperr.New(apperr.Unauthenticated, "the token is not valid")
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 100 {
		return nil, deny
	}
	t, err := s.store.TokenByHash(ctx, hashSecret(secret))
	if errors.Is(err, apperr.NotFound) {
		return nil, deny
	}
	if err != nil {
		return nil, err
	}
	if !t.Active(s.now()) {
		return nil, deny
	}
	a, err := s.store.GetAccount(ctx, t.AccountID)
	if err != nil {
		return nil, err
	}
	o, err := s.store.GetOrg(ctx, a.Org)
	if err != nil {
		return nil, err
	}
	if a.Status != Active || o.Status != Active {
		return nil, deny
	}
	var roles []authz.Role
	for _, r := range t.Roles { // an account may have lost a role since
		if slices.Contains(a.Roles, r) {
			roles = append(roles, r)
		}
	}
	return &authz.Actor{AccountID: a.ID, AccountName: a.Name, TokenID: t.ID, Org: a.Org, Roles: roles}, nil
}

// GetToken returns a token's record (never its secret).
func (s *Service) GetToken(ctx context.Context, id string) (Token, error) {
	t, err := s.store.GetToken(ctx, id)
	if errors.Is(err, apperr.NotFound) {
		return Token{}, apperr.New(apperr.NotFound, "no token has id %s", id)
	}
	return t, err
}

// ListTokens returns one page of token records.
func (s *Service) ListTokens(ctx context.Context, f TokenFilter, cursor string) (page.Page[Token], error) {
	return page.Fetch(f.Limit, cursor, func(limit int, after string) ([]Token, error) {
		f.Limit, f.After = limit, after
		return s.store.ListTokens(ctx, f)
	}, func(t Token) string { return t.ID })
}

// RevokeToken revokes a token at once; revoking twice is not an error.
func (s *Service) RevokeToken(ctx context.Context, id string) (Token, error) {
	var out Token
	err := s.tx(ctx, func(st Tx) error {
		t, err := st.GetToken(ctx, id)
		if errors.Is(err, apperr.NotFound) {
			return apperr.New(apperr.NotFound, "no token has id %s", id)
		}
		if err != nil {
			return err
		}
		if t.RevokedAt == nil {
			now := s.now().UTC()
			if err := st.RevokeToken(ctx, id, now); err != nil {
				return err
			}
			t.RevokedAt = &now
			if err := auditlog.Record(ctx, st, auditlog.Entry{At: now, Org: t.Org, Action: "token.revoked", Subject: t.ID,
				Details: map[string]string{"account": t.AccountID, "prefix": t.Prefix}}); err != nil {
				return err
			}
		}
		out = t
		return nil
	})
	return out, err
}

// newID returns a random identifier with a readable type prefix.
func (s *Service) newID(kind string) (string, error) {
	b := make([]byte, 12)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("identifier randomness: %w", err)
	}
	return kind + "_" + hex.EncodeToString(b), nil
}
