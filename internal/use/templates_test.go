package use

import (
	"context"
	"fmt"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/catalog"
)

// countingCatalog answers from fixed versions and counts its reads.
type countingCatalog struct {
	versions map[templateKey]catalog.Version
	reads    int
}

func (c *countingCatalog) GetType(_ context.Context, code string) (catalog.Entry, error) {
	c.reads++
	return catalog.Entry{Type: catalog.Type{Code: code, HolderKind: catalog.HolderOrganization}}, nil
}

func (c *countingCatalog) Latest(context.Context, string) (catalog.Version, error) {
	return catalog.Version{}, fmt.Errorf("not used")
}

func (c *countingCatalog) GetVersion(_ context.Context, code string, n int) (catalog.Version, error) {
	c.reads++
	v, ok := c.versions[templateKey{code, n}]
	if !ok {
		return v, fmt.Errorf("no version %d of %s", n, code)
	}
	return v, nil
}

// TestTemplatesKeepOnlyWhatCannotChange: an approved version and a type's
// holder kind are read once; a version in any other state, and an error,
// are read again each time; the cache stays bounded.
func TestTemplatesKeepOnlyWhatCannotChange(t *testing.T) {
	ctx := context.Background()
	c := &countingCatalog{versions: map[templateKey]catalog.Version{}}
	for i := range maxTemplates + 10 {
		c.versions[templateKey{"BL0001", i}] = catalog.Version{TypeCode: "BL0001", Number: i, State: catalog.Approved}
	}
	c.versions[templateKey{"BL0002", 1}] = catalog.Version{TypeCode: "BL0002", Number: 1, State: catalog.Pending}
	tm := newTemplates(c)
	for _, tc := range []struct {
		name      string
		code      string
		number    int
		wantReads int // over three reads
		wantErr   bool
	}{
		{"approved", "BL0001", 1, 1, false},
		{"pending", "BL0002", 1, 3, false},
		{"missing", "BL0003", 1, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.reads = 0
			for range 3 {
				v, err := tm.version(ctx, tc.code, tc.number)
				if (err != nil) != tc.wantErr {
					t.Fatalf("version: %v", err)
				}
				if err == nil && (v.TypeCode != tc.code || v.Number != tc.number) {
					t.Fatalf("got %s %d", v.TypeCode, v.Number)
				}
			}
			if c.reads != tc.wantReads {
				t.Fatalf("%d reads, want %d", c.reads, tc.wantReads)
			}
		})
	}
	c.reads = 0
	for range 3 {
		if k, err := tm.holderKind(ctx, "BL0001"); err != nil || k != catalog.HolderOrganization {
			t.Fatalf("holder kind %q, %v", k, err)
		}
	}
	if c.reads != 1 {
		t.Fatalf("holder kind read %d times, want once", c.reads)
	}
	for i := range maxTemplates + 10 {
		if _, err := tm.version(ctx, "BL0001", i); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(tm.versions); n > maxTemplates {
		t.Fatalf("%d versions kept, more than %d", n, maxTemplates)
	}
}
