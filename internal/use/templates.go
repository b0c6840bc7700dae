package use

import (
	"context"
	"fmt"
	"sync"

	"github.com/zhengzhao/zhengzhao/internal/catalog"
)

// maxTemplates bounds the approved versions and holder kinds a process
// keeps: far more than a catalog has types, so that only a catalog of
// thousands of types ever reads one twice.
const maxTemplates = 1024

// templateKey names one version of a license type.
type templateKey struct {
	typeCode string
	number   int
}

// templates keeps what every use of a license type reads and nothing can
// change, so that a use reads it from the store once per process rather
// than each time: a type's holder kind (a type, once defined, is never
// updated) and the template of an approved version (approved is final; a
// change is a new version). Kept per process, it is as true in every
// serve process on one store. What may change — a version not yet
// approved, a type's newest approved version — is never kept.
type templates struct {
	catalog  Catalog
	mu       sync.RWMutex
	kinds    map[string]catalog.HolderKind
	versions map[templateKey]catalog.Version
}

func newTemplates(c Catalog) *templates {
	return &templates{catalog: c, kinds: map[string]catalog.HolderKind{}, versions: map[templateKey]catalog.Version{}}
}

// holderKind returns who holds licenses of the type code.
func (t *templates) holderKind(ctx context.Context, code string) (catalog.HolderKind, error) {
	t.mu.RLock()
	k, ok := t.kinds[code]
	t.mu.RUnlock()
	if ok {
		return k, nil
	}
	e, err := t.catalog.GetType(ctx, code)
	if err != nil {
		return "", fmt.Errorf("license type %s: %w", code, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.kinds) >= maxTemplates {
		clear(t.kinds)
	}
	t.kinds[code] = e.HolderKind
	return e.HolderKind, nil
}

// version returns version number of the type code; only an approved one
// is kept.
func (t *templates) version(ctx context.Context, code string, number int) (catalog.Version, error) {
	key := templateKey{code, number}
	t.mu.RLock()
	v, ok := t.versions[key]
	t.mu.RUnlock()
	if ok {
		return v, nil
	}
	v, err := t.catalog.GetVersion(ctx, code, number)
	if err != nil || v.State != catalog.Approved {
		return v, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.versions) >= maxTemplates {
		clear(t.versions)
	}
	t.versions[key] = v
	return v, nil
}
