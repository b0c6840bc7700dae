package present

import (
	"context"
	"crypto"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/page"
	"github.com/zhengzhao/zhengzhao/verify"
)

// KeyCacheTTL is how long the platform's presentation keys are kept in
// memory before they are read again: a redemption must not read the key
// ring each time. A key disabled or rotated is seen by every process at
// most this late; a kid not known is looked up again at once (at most once
// a second), so a key made a moment ago by another process is found.
const KeyCacheTTL = 5 * time.Second

// keyEntry is one presentation key as a redemption uses it.
type keyEntry struct {
	key verify.PresentationKey
	pub crypto.PublicKey
}

// keyCache holds the platform's presentation keys by kid in hex: the one
// that signs and those a rotation retired (their payloads issued before
// the rotation stay valid until they expire); a disabled key is left out,
// so that payloads it signed are refused.
type keyCache struct {
	keys     Keys
	platform func(ctx context.Context) (string, error)
	now      func() time.Time

	mu     sync.Mutex
	byKID  map[string]keyEntry
	readAt time.Time
}

// lookup returns the key of kid, reading the key ring when the cache is
// older than KeyCacheTTL, or older than a second and without kid.
func (c *keyCache) lookup(ctx context.Context, kid []byte) (keyEntry, bool, error) {
	h := hex.EncodeToString(kid)
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	age := now.Sub(c.readAt)
	e, found := c.byKID[h]
	if c.byKID != nil && age >= 0 && (age < KeyCacheTTL && (found || age < time.Second)) {
		return e, found, nil
	}
	m, err := c.read(ctx)
	if err != nil {
		return keyEntry{}, false, err
	}
	c.byKID, c.readAt = m, now
	e, found = m[h]
	return e, found, nil
}

// read lists the platform's presentation keys.
func (c *keyCache) read(ctx context.Context) (map[string]keyEntry, error) {
	plat, err := c.platform(ctx)
	if err != nil {
		return nil, err
	}
	m := map[string]keyEntry{}
	cursor := ""
	for {
		p, err := c.keys.Page(ctx, keyring.Filter{Org: plat, Purpose: keyring.Presentation}, page.MaxLimit, cursor)
		if err != nil {
			return nil, err
		}
		for _, k := range p.Items {
			if k.State == keyring.Disabled {
				continue
			}
			pub, err := k.Public()
			if err != nil {
				return nil, fmt.Errorf("presentation key %s: %w", k.ID, err)
			}
			pk, err := verify.NewPresentationKey(pub, k.CreatedAt, k.RotatedAt)
			if err != nil {
				return nil, fmt.Errorf("presentation key %s: %w", k.ID, err)
			}
			// Every redemption verifies under one of these keys: Z once.
			if pub, err = keys.PrepareVerify(pub); err != nil {
				return nil, fmt.Errorf("presentation key %s: %w", k.ID, err)
			}
			m[pk.KID] = keyEntry{key: pk, pub: pub}
		}
		if p.Next == "" {
			return m, nil
		}
		cursor = p.Next
	}
}
