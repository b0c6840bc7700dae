package holder

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
)

// OIDCConfig is the OpenID Connect provider holders sign in with.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; empty turns OpenID Connect
	// sign-in off.
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is the platform's callback as registered with the
	// provider: <public URL>/api/v1/holder/callback.
	RedirectURL string
	// The ID token claims that carry the citizen ID number, the credit
	// code of the organization the person acts for, the person's name and
	// the organization's name. Defaults: citizen_id, credit_code, name,
	// org_name.
	CitizenIDClaim  string
	CreditCodeClaim string
	NameClaim       string
	OrgNameClaim    string
	// LoginTTL is how long a login begun may take to come back; default
	// ten minutes.
	LoginTTL time.Duration
}

// Enabled reports whether OpenID Connect sign-in is configured.
func (c OIDCConfig) Enabled() bool { return c.Issuer != "" }

// WithDefaults fills the claim names and the login lifetime.
func (c OIDCConfig) WithDefaults() OIDCConfig {
	for _, f := range []struct {
		v   *string
		def string
	}{{&c.CitizenIDClaim, "citizen_id"}, {&c.CreditCodeClaim, "credit_code"}, {&c.NameClaim, "name"}, {&c.OrgNameClaim, "org_name"}} {
		if *f.v == "" {
			*f.v = f.def
		}
	}
	if c.LoginTTL == 0 {
		c.LoginTTL = 10 * time.Minute
	}
	return c
}

// Validate refuses an incomplete configuration; a disabled one is valid.
// Field names are the serve flags.
func (c OIDCConfig) Validate() error {
	if !c.Enabled() {
		return nil
	}
	c = c.WithDefaults()
	var fs apperr.Fields
	for _, u := range []struct{ field, v string }{{"oidc-issuer", c.Issuer}, {"oidc-redirect-url", c.RedirectURL}} {
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			fs.Add(u.field, "url", "an absolute http or https URL")
		}
	}
	if c.ClientID == "" {
		fs.Add("oidc-client-id", "required", "the client ID registered with the provider")
	}
	if c.LoginTTL < time.Minute || c.LoginTTL > time.Hour {
		fs.Add("oidc-login-ttl", "range", "between one minute and one hour")
	}
	return fs.Err()
}

// OIDC signs holders in through an OpenID Connect provider: the
// authorization code flow with PKCE, state and nonce. Nothing of a login
// is kept in memory, so a login begun on one serve process finishes on
// any other: the store keeps the state's hash, one-time, and the PKCE
// verifier and nonce are derived from the state under a key of the master
// key, so that they are never stored and never leave the platform.
type OIDC struct {
	svc *Service
	cfg OIDCConfig

	mu       sync.Mutex
	provider *oidc.Provider // discovered on first use, so that serve starts while the provider is down
}

// OIDC returns the OpenID Connect sign-in of cfg; nil when cfg is not
// enabled.
func (s *Service) OIDC(cfg OIDCConfig) *OIDC {
	if !cfg.Enabled() {
		return nil
	}
	return &OIDC{svc: s, cfg: cfg.WithDefaults()}
}

// discover returns the provider, read from its discovery document once.
func (o *OIDC) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	// The provider outlives the request that discovered it: its key set
	// fetches with the context it was made with.
	p, err := oidc.NewProvider(context.WithoutCancel(ctx), o.cfg.Issuer)
	if err != nil {
		return nil, apperr.Wrap(apperr.Unavailable, err, "the identity provider cannot be reached")
	}
	o.provider = p
	return p, nil
}

func (o *OIDC) oauth2(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile"}}
}

// derived returns the PKCE verifier and the nonce of a login's state.
func (o *OIDC) derived(state string) (verifier, nonce string, err error) {
	if verifier, err = o.svc.store.DeriveHolderSecret("holder-login-pkce", state); err != nil {
		return "", "", err
	}
	if nonce, err = o.svc.store.DeriveHolderSecret("holder-login-nonce", state); err != nil {
		return "", "", err
	}
	return verifier, nonce, nil
}

// Begin starts a login: the URL of the provider to send the browser to.
func (o *OIDC) Begin(ctx context.Context) (string, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("login state randomness: %w", err)
	}
	state := base64.RawURLEncoding.EncodeToString(raw)
	verifier, nonce, err := o.derived(state)
	if err != nil {
		return "", err
	}
	now := o.svc.now()
	if err := o.svc.store.BeginHolderLogin(ctx, hashSecret(state), now, now.Add(o.cfg.LoginTTL)); err != nil {
		return "", err
	}
	return o.oauth2(p).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), nil
}

// refuse is the refusal of a login, naming what failed.
func refuse(field, rule, detail string) error {
	return &apperr.Error{Kind: apperr.Forbidden, Detail: detail, Fields: []apperr.FieldError{{Field: field, Rule: rule, Detail: detail}}}
}

// Finish completes a login with the state and code the provider sent
// back: the code is exchanged with the PKCE verifier, the ID token
// verified (signature, issuer, audience, expiry, nonce), the holder made
// or found from its claims and a session started. A state that is
// unknown, used or expired is refused before the provider is asked.
func (o *OIDC) Finish(ctx context.Context, state, code string) (string, Session, Holder, error) {
	if state == "" || code == "" {
		return "", Session{}, Holder{}, refuse("state", "required", "the provider's answer lacks state or code")
	}
	err := o.svc.store.TakeHolderLogin(ctx, hashSecret(state), o.svc.now())
	if errors.Is(err, apperr.NotFound) {
		return "", Session{}, Holder{}, refuse("state", "login-state", "this login is unknown, finished already or expired: sign in again")
	}
	if err != nil {
		return "", Session{}, Holder{}, err
	}
	p, err := o.discover(ctx)
	if err != nil {
		return "", Session{}, Holder{}, err
	}
	verifier, nonce, err := o.derived(state)
	if err != nil {
		return "", Session{}, Holder{}, err
	}
	tok, err := o.oauth2(p).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return "", Session{}, Holder{}, refuse("code", "exchange", "the provider refused the authorization code")
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return "", Session{}, Holder{}, refuse("id_token", "required", "the provider sent no ID token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID, Now: o.svc.now}).Verify(ctx, rawID)
	if err != nil {
		return "", Session{}, Holder{}, refuse("id_token", "verified", "the ID token does not verify: "+err.Error())
	}
	if idt.Nonce != nonce {
		return "", Session{}, Holder{}, refuse("id_token", "nonce", "the ID token was not issued for this login")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", Session{}, Holder{}, refuse("id_token", "claims", "the ID token's claims cannot be read")
	}
	c := o.claims(claims)
	link := Identity{Issuer: idt.Issuer, Subject: idt.Subject}
	h, err := o.holderOf(ctx, c, link)
	if err != nil {
		return "", Session{}, Holder{}, err
	}
	secret, ses, err := o.svc.SignIn(ctx, h, "oidc", c.Representative)
	return secret, ses, h, err
}

// claims reads the holder's claims: an organization when the credit code
// claim is present, a person otherwise.
func (o *OIDC) claims(m map[string]any) Claims {
	str := func(name string) string {
		s, _ := m[name].(string)
		return strings.TrimSpace(s)
	}
	if cc := str(o.cfg.CreditCodeClaim); cc != "" {
		return Claims{Kind: catalog.HolderOrganization, Identifier: cc, Name: str(o.cfg.OrgNameClaim), Representative: str(o.cfg.NameClaim)}
	}
	return Claims{Kind: catalog.HolderPerson, Identifier: str(o.cfg.CitizenIDClaim), Name: str(o.cfg.NameClaim)}
}

// holderOf returns the holder of the claims, linked to the identity; a
// person whose ID token lacks the citizen ID claim signs in as the holder
// the identity was linked to before.
func (o *OIDC) holderOf(ctx context.Context, c Claims, link Identity) (Holder, error) {
	if c.Kind == catalog.HolderPerson && c.Identifier == "" {
		id, err := o.svc.store.HolderOfIdentity(ctx, link, c.Kind)
		if errors.Is(err, apperr.NotFound) {
			return Holder{}, refuse(o.cfg.CitizenIDClaim, "claim", "the ID token carries no citizen ID number")
		}
		if err != nil {
			return Holder{}, err
		}
		return o.svc.store.GetHolder(ctx, id)
	}
	if err := c.check(); err != nil {
		var ae *apperr.Error
		if errors.As(err, &ae) {
			ae.Kind = apperr.Forbidden // the provider's claims, not the caller's input
		}
		return Holder{}, err
	}
	return o.svc.ensure(ctx, c, &link)
}
