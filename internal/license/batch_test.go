package license_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	codec "github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
	"github.com/zhengzhao/zhengzhao/verify"
)

// permits returns n residence permits for n holders.
func (f fixture) permits(n int) []license.NewLicense {
	out := make([]license.NewLicense, n)
	for i := range out {
		out[i] = f.permit()
		out[i].HolderName = fmt.Sprintf("王建国%d", i)
	}
	return out
}

// TestIssueBatch issues 1,000 licenses as one batch through the real
// seal signer: one seal use, one signature in every document, every
// document's proof leading to the signed root, and the platform's online
// verifier accepting them — and failing a changed one alone.
func TestIssueBatch(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		n := 1000
		if testing.Short() {
			n = 100
		}
		before := f.counts(t)
		start := time.Now()
		got, err := f.p.Licenses.IssueBatch(ctx, f.issuer, f.permits(n))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d licenses issued in one batch in %v", db.Dialect(), n, time.Since(start).Round(time.Millisecond))
		// n licenses, one seal use, n+1 audit entries (the signature and
		// each issuance) and n events.
		if want := [4]int{before[0] + n, before[1] + 1, before[2] + n + 1, before[3] + n}; f.counts(t) != want {
			t.Errorf("licenses, uses, audit entries, events = %v, want %v", f.counts(t), want)
		}
		uses, err := f.p.Seals.Uses(ctx, f.sealID)
		if err != nil {
			t.Fatal(err)
		}
		use := uses[len(uses)-1]
		var header codec.BatchHeader
		ids := map[string]bool{}
		for i, out := range got {
			d, err := codec.Decode(out.Document)
			if err != nil {
				t.Fatal(err)
			}
			if d.Batch == nil || d.Batch.Index != int64(i) || !bytes.Equal(d.Signature, use.Signature) {
				t.Fatalf("license %d: batch %+v, signature of the use %v", i, d.Batch, bytes.Equal(d.Signature, use.Signature))
			}
			if i == 0 {
				header = d.Batch.Header
				digest, err := codec.BatchDigest(header)
				if err != nil || use.DocHash != fmt.Sprintf("%x", digest) {
					t.Fatalf("use records %s, want the batch header's digest %x (%v)", use.DocHash, digest, err)
				}
			}
			digest, err := codec.Digest(d.License)
			if err != nil {
				t.Fatal(err)
			}
			if d.Batch.Header != header || header.Size != int64(n) || d.Batch.Verify(digest) != nil {
				t.Fatalf("license %d is not in the batch: %+v", i, d.Batch)
			}
			if ids[out.License.ID] || d.License.ID != out.License.ID || d.License.Holder.Name != fmt.Sprintf("王建国%d", i) {
				t.Fatalf("license %d: %s, %+v", i, out.License.ID, d.License.Holder)
			}
			ids[out.License.ID] = true
			stored, err := f.p.Licenses.Document(ctx, f.issuer, out.License.ID)
			if err != nil || !bytes.Equal(stored, out.Document) {
				t.Fatalf("license %d: stored document differs (%v)", i, err)
			}
		}
		for _, i := range []int{0, n / 2, n - 1} {
			v, err := f.p.Trust.Verify(ctx, nil, got[i].Document)
			if err != nil {
				t.Fatal(err)
			}
			if !v.Valid || !slices.ContainsFunc(v.Checks, func(c verify.Check) bool { return c.Name == verify.CheckBatchInclusion && c.OK }) {
				t.Errorf("license %d: %+v", i, v.Checks)
			}
		}
		tampered := bytes.Replace(got[1].Document, []byte("王建国1"), []byte("王建图1"), 1)
		v, err := f.p.Trust.Verify(ctx, nil, tampered)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range v.Checks {
			if c.OK == (c.Name == verify.CheckBatchInclusion) && !c.Informational {
				t.Errorf("changed license: check %s ok %v (%s)", c.Name, c.OK, c.Reason)
			}
		}
	})
}

// TestIssueBatchRefuses: a batch with a bad license is refused whole,
// naming each broken rule under its license, and writes nothing.
func TestIssueBatchRefuses(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		tests := []struct {
			name  string
			batch func() []license.NewLicense
			kind  apperr.Kind
			rules []string
		}{
			{"empty", func() []license.NewLicense { return nil }, apperr.Invalid, []string{"licenses: count"}},
			{"too many", func() []license.NewLicense { return make([]license.NewLicense, license.MaxBatch+1) }, apperr.Invalid, []string{"licenses: count"}},
			{"bad holders", func() []license.NewLicense {
				ns := f.permits(5)
				ns[1].HolderID, ns[3].HolderName = "110105194912310021", ""
				return ns
			}, apperr.Invalid, []string{"licenses[1].holder_id: check-character", "licenses[3].holder_name: required"}},
			{"two types", func() []license.NewLicense {
				ns := f.permits(3)
				ns[2].Type = "BL0001"
				return ns
			}, apperr.Invalid, []string{"licenses[2].type: same-type"}},
			{"a type the organization does not issue", func() []license.NewLicense {
				ns := f.permits(2)
				ns[0].Type, ns[1].Type = "BL0001", "BL0001"
				return ns
			}, apperr.Forbidden, []string{"licenses[0].type: own-org"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := f.counts(t)
				_, err := f.p.Licenses.IssueBatch(ctx, f.issuer, tt.batch())
				if !errors.Is(err, tt.kind) || !slices.Equal(rules(err), tt.rules) {
					t.Errorf("IssueBatch = %v (rules %v), want %s %v", err, rules(err), tt.kind, tt.rules)
				}
				if after := f.counts(t); after != before {
					t.Errorf("a refused batch wrote %v, before %v", after, before)
				}
			})
		}
		// A seal that may not sign refuses the batch before any number is
		// drawn, and when it stops in the signing transaction, that
		// transaction keeps nothing.
		f.decide(t, seal.Suspend, f.sealID, seal.BindTerms{})
		before := f.counts(t)
		if _, err := f.p.Licenses.IssueBatch(ctx, f.issuer, f.permits(3)); !errors.Is(err, apperr.Conflict) {
			t.Errorf("IssueBatch with a suspended seal = %v, want a conflict", err)
		}
		if after := f.counts(t); after != before {
			t.Errorf("a refused batch wrote %v, before %v", after, before)
		}
	})
}

// TestConcurrentBatches: 24 clients issue batches at once; every license
// gets its own identifier, number and status slot, each batch one use.
func TestConcurrentBatches(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		const clients, size = 24, 5
		before := f.counts(t)
		var wg sync.WaitGroup
		errs := make([]error, clients)
		got := make([][]license.Issued, clients)
		for i := range clients {
			wg.Go(func() { got[i], errs[i] = f.p.Licenses.IssueBatch(ctx, f.issuer, f.permits(size)) })
		}
		wg.Wait()
		seen := map[string]bool{}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("batch %d: %v", i, err)
			}
			for _, out := range got[i] {
				l := out.License
				for _, k := range []string{l.ID, "n" + l.Number, fmt.Sprint("s", l.Slot.List.Number, "/", l.Slot.Index)} {
					if seen[k] {
						t.Fatalf("%s given twice", k)
					}
					seen[k] = true
				}
			}
		}
		t.Logf("%s: %d batches of %d, %d store retries", db.Dialect(), clients, size, db.Retries())
		if want := [4]int{before[0] + clients*size, before[1] + clients, before[2] + clients*(size+1), before[3] + clients*size}; f.counts(t) != want {
			t.Errorf("licenses, uses, audit entries, events = %v, want %v", f.counts(t), want)
		}
	})
}

// TestBatchIsAllOrNothing cuts batches off at several moments, by their
// context's deadline — while drawing sequences, in the middle of the
// issuing transaction, or not at all: each batch is then stored whole,
// with its one seal use, or not at all.
func TestBatchIsAllOrNothing(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		const n = 300
		cut := 0
		for _, d := range []time.Duration{20 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond, time.Minute} {
			before := f.counts(t)
			ctx, cancel := context.WithTimeout(context.Background(), d)
			_, err := f.p.Licenses.IssueBatch(ctx, f.issuer, f.permits(n))
			cancel()
			after := f.counts(t)
			switch {
			case err == nil:
				if want := [4]int{before[0] + n, before[1] + 1, before[2] + n + 1, before[3] + n}; after != want {
					t.Errorf("deadline %v: a whole batch wrote %v, want %v", d, after, want)
				}
			case after != before:
				t.Errorf("deadline %v: a batch cut off (%v) wrote %v, before %v", d, err, after, before)
			default:
				cut++
			}
		}
		if cut == 0 {
			t.Error("no batch was cut off: the test tried nothing")
		}
		t.Logf("%s: %d of 4 batches cut off", db.Dialect(), cut)
	})
}
