package server

import (
	"context"
	"crypto/sha256"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/org"
)

// TokenCacheTTL is how long a verified token is believed without asking the
// store again. It bounds how late a change made by another process — a
// token revoked, an account or organization deactivated, a role withdrawn —
// takes effect here: every process asks the store again at most this long
// after it last did. A change made through this process's own API takes
// effect at once (see Deps.ChangesAuth).
const TokenCacheTTL = 2 * time.Second

// tokenCacheSize bounds the memory of the cache: far more than the distinct
// tokens of any deployment's busiest TokenCacheTTL.
const tokenCacheSize = 10000

// TokenRecords returns a token's record; the cache learns expiries from it.
type TokenRecords interface {
	GetToken(ctx context.Context, id string) (org.Token, error)
}

// tokenCache remembers the actors of recently verified tokens, keyed by the
// SHA-256 of the secret (the secret itself is never kept), so that a
// request costs no store reads while its token was verified less than ttl
// ago. Only successes are remembered: a refused token is asked about every
// time, so a token becomes usable the moment it is issued.
type tokenCache struct {
	auth    Authenticator
	records TokenRecords
	group   singleflight.Group
	ttl     time.Duration
	now     func() time.Time

	mu      sync.RWMutex
	entries map[[sha256.Size]byte]cachedActor
	// gen counts forgets: an answer looked up before one is not kept,
	// since it may predate the change that caused it.
	gen uint64
}

type cachedActor struct {
	actor *authz.Actor
	until time.Time
}

func newTokenCache(auth Authenticator, records TokenRecords, ttl time.Duration, now func() time.Time) *tokenCache {
	return &tokenCache{auth: auth, records: records, ttl: ttl, now: now, entries: map[[sha256.Size]byte]cachedActor{}}
}

// Authenticate implements Authenticator.
func (c *tokenCache) Authenticate(ctx context.Context, secret string) (*authz.Actor, error) {
	key := sha256.Sum256([]byte(secret))
	now := c.now()
	c.mu.RLock()
	e, ok := c.entries[key]
	gen := c.gen
	c.mu.RUnlock()
	if ok && now.Before(e.until) {
		return copyActor(e.actor), nil
	}
	// Requests that miss together share one lookup, so that a token's
	// expiry from the cache does not send every connection to the store
	// at once. The generation is part of the key: a request that arrives
	// after a forget never shares a lookup begun before it.
	flight := string(key[:]) + strconv.FormatUint(gen, 10)
	v, err, _ := c.group.Do(flight, func() (any, error) {
		// The lookup serves every waiter: it must not end with the
		// request that happened to start it.
		return c.lookup(context.WithoutCancel(ctx), secret, key, now, gen)
	})
	if err != nil {
		return nil, err
	}
	return copyActor(v.(*authz.Actor)), nil
}

// lookup asks the store and remembers a success.
func (c *tokenCache) lookup(ctx context.Context, secret string, key [sha256.Size]byte, now time.Time, gen uint64) (*authz.Actor, error) {
	actor, err := c.auth.Authenticate(ctx, secret)
	if err != nil {
		return nil, err
	}
	until := now.Add(c.ttl)
	// A token that expires sooner than ttl must not outlive its expiry here.
	t, err := c.records.GetToken(ctx, actor.TokenID)
	if err != nil {
		return nil, err
	}
	if t.ExpiresAt.Before(until) {
		until = t.ExpiresAt
	}
	c.mu.Lock()
	if c.gen == gen {
		if len(c.entries) >= tokenCacheSize {
			c.evict(now)
		}
		c.entries[key] = cachedActor{actor: copyActor(actor), until: until}
	}
	c.mu.Unlock()
	return actor, nil
}

// evict drops expired entries and, when that frees nothing, an arbitrary
// tenth of the rest. The caller holds mu.
func (c *tokenCache) evict(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.until) {
			delete(c.entries, k)
		}
	}
	n := len(c.entries) - tokenCacheSize*9/10
	for k := range c.entries {
		if n <= 0 {
			break
		}
		delete(c.entries, k)
		n--
	}
}

// forget drops every entry: something that decides authentication changed.
func (c *tokenCache) forget() {
	c.mu.Lock()
	clear(c.entries)
	c.gen++
	c.mu.Unlock()
}

// copyActor keeps the cached actor out of reach of the request that uses it.
func copyActor(a *authz.Actor) *authz.Actor {
	out := *a
	out.Roles = slices.Clone(a.Roles)
	return &out
}
