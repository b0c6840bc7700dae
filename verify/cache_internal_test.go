package verify

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/zhengzhao/zhengzhao/internal/keys/ca"
)

// TestCacheChainWindow: a remembered chain is believed only within the
// validity of the leaf and of every root that could have issued it, only
// for the same leaf, roots and purpose, and never beyond the cache's size.
func TestCacheChainWindow(t *testing.T) {
	day := 24 * time.Hour
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	leaf := &smx509.Certificate{NotBefore: t0, NotAfter: t0.Add(10 * day), RawIssuer: []byte("root")}
	roots := []*smx509.Certificate{
		{RawSubject: []byte("root"), NotBefore: t0.Add(day), NotAfter: t0.Add(5 * day)},
		{RawSubject: []byte("other"), NotBefore: t0.Add(-day), NotAfter: t0.Add(2 * day)},
	}
	k := chainKey{leaf: sha256.Sum256([]byte("leaf")), roots: sha256.Sum256([]byte("roots")), purpose: ca.Seal}
	c := NewCache(10)
	c.rememberChain(k, leaf, roots)
	for _, tc := range []struct {
		name string
		k    chainKey
		at   time.Time
		hit  bool
	}{
		{"within", k, t0.Add(3 * day), true},
		{"at the root's start", k, t0.Add(day), true},
		{"before the issuing root", k, t0.Add(12 * time.Hour), false},
		{"after the issuing root, within the leaf", k, t0.Add(6 * day), false},
		{"another purpose", chainKey{leaf: k.leaf, roots: k.roots, purpose: ca.Issuer}, t0.Add(3 * day), false},
		{"other roots", chainKey{leaf: k.leaf, purpose: k.purpose}, t0.Add(3 * day), false},
	} {
		notAfter, hit := c.chain(tc.k, tc.at)
		if hit != tc.hit || (hit && !notAfter.Equal(leaf.NotAfter)) {
			t.Errorf("%s: hit %v (%s), want %v", tc.name, hit, notAfter, tc.hit)
		}
	}

	orphan := &smx509.Certificate{NotBefore: t0, NotAfter: t0.Add(day), RawIssuer: []byte("nobody")}
	k2 := chainKey{leaf: sha256.Sum256([]byte("orphan"))}
	c.rememberChain(k2, orphan, roots)
	if _, hit := c.chain(k2, t0.Add(time.Hour)); hit {
		t.Error("a chain whose issuer is not among the roots was remembered")
	}

	small := NewCache(2)
	for i := range 5 {
		small.rememberStructure(sha256.Sum256([]byte{byte(i)}))
		if small.Len() > 2 {
			t.Fatalf("%d entries in a cache of 2", small.Len())
		}
	}
	if !small.structureVerified(sha256.Sum256([]byte{4})) {
		t.Error("the latest structure is forgotten")
	}

	var none *Cache // a Trust without a cache
	none.rememberChain(k, leaf, roots)
	none.rememberStructure(k.leaf)
	if _, hit := none.chain(k, t0.Add(3*day)); hit || none.structureVerified(k.leaf) {
		t.Error("a nil cache remembers")
	}
}
