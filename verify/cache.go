package verify

import (
	"bytes"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/zhengzhao/zhengzhao/internal/keys/ca"
)

// Cache remembers what verification found about the parts of a signature
// that every signature of a seal shares, so that a verdict pays only for
// what is new: that a certificate chains to the trusted roots (two SM2
// verifies and two certificate parses per verdict otherwise) and that the
// maker signed a seal structure (one SM2 verify). It never remembers a
// revocation or a seal's state: those are asked of the Trust on every
// verdict, so they take effect at once.
//
// A chain is remembered for one set of roots: entries are keyed by the
// SHA-256 of the roots, so a new bundle or a changed set of roots in the
// store simply misses. A chain found valid is believed again only at an
// instant within the validity of the certificate and of every root that
// could have issued it; any other instant is verified in full. A maker's
// signature is a fact about the structure's bytes alone.
//
// A Cache is safe for concurrent use and holds at most the number of
// entries given to NewCache; when full it starts afresh.
type Cache struct {
	max int

	mu         sync.RWMutex
	chains     map[chainKey]chainWindow
	structures map[[sha256.Size]byte]struct{}
}

// NewCache returns an empty Cache of at most size entries (at least 1).
func NewCache(size int) *Cache {
	return &Cache{max: max(size, 1), chains: map[chainKey]chainWindow{}, structures: map[[sha256.Size]byte]struct{}{}}
}

// Caching is a Trust that keeps a Cache for the verdicts made with it.
// A Bundle from OpenBundle is one; the platform's store trust is another.
type Caching interface {
	Trust
	// VerifyCache returns the cache, or nil for none.
	VerifyCache() *Cache
}

type chainKey struct {
	leaf    [sha256.Size]byte
	roots   [sha256.Size]byte
	purpose ca.Purpose
}

// chainWindow is when a remembered chain holds, and the leaf's expiry
// (which the version 5 maker note reports).
type chainWindow struct {
	from, to time.Time
	notAfter time.Time
}

// cacheOf returns the trust's cache, or nil.
func cacheOf(t Trust) *Cache {
	if c, ok := t.(Caching); ok {
		return c.VerifyCache()
	}
	return nil
}

// rootsKey names a set of roots (in the order given; the Trust keeps
// its order stable).
func rootsKey(roots []*smx509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	for _, r := range roots {
		fp := sha256.Sum256(r.Raw)
		h.Write(fp[:])
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// chain returns the remembered chain's leaf expiry when the chain is known
// valid at instant at.
func (c *Cache) chain(k chainKey, at time.Time) (time.Time, bool) {
	if c == nil {
		return time.Time{}, false
	}
	c.mu.RLock()
	w, ok := c.chains[k]
	c.mu.RUnlock()
	if !ok || at.Before(w.from) || at.After(w.to) {
		return time.Time{}, false
	}
	return w.notAfter, true
}

// rememberChain records that leaf chained to roots for purpose: from then
// on, at any instant within leaf's validity and that of every root named
// as its issuer.
func (c *Cache) rememberChain(k chainKey, leaf *smx509.Certificate, roots []*smx509.Certificate) {
	if c == nil {
		return
	}
	w := chainWindow{from: leaf.NotBefore, to: leaf.NotAfter, notAfter: leaf.NotAfter}
	issuers := 0
	for _, r := range roots {
		if !bytes.Equal(r.RawSubject, leaf.RawIssuer) {
			continue
		}
		issuers++
		if r.NotBefore.After(w.from) {
			w.from = r.NotBefore
		}
		if r.NotAfter.Before(w.to) {
			w.to = r.NotAfter
		}
	}
	if issuers == 0 {
		return // a path this package does not foresee: verify it every time
	}
	c.mu.Lock()
	c.makeRoom()
	c.chains[k] = w
	c.mu.Unlock()
}

// structureVerified reports whether the maker's signature on the seal
// structure der was verified before.
func (c *Cache) structureVerified(sum [sha256.Size]byte) bool {
	if c == nil {
		return false
	}
	c.mu.RLock()
	_, ok := c.structures[sum]
	c.mu.RUnlock()
	return ok
}

func (c *Cache) rememberStructure(sum [sha256.Size]byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.makeRoom()
	c.structures[sum] = struct{}{}
	c.mu.Unlock()
}

// makeRoom starts afresh when the cache is full. The caller holds mu.
func (c *Cache) makeRoom() {
	if len(c.chains)+len(c.structures) >= c.max {
		clear(c.chains)
		clear(c.structures)
	}
}

// Len returns the number of entries, for tests and metrics.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.chains) + len(c.structures)
}
