package status_test

import (
	"context"
	"errors"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

func TestParseListURL(t *testing.T) {
	ref := status.ListRef{Issuer: issuerA, Purposes: status.RevocationAndSuspension, Number: 3}
	for _, p := range []statuslist.Purpose{statuslist.PurposeRevocation, statuslist.PurposeSuspension} {
		got, gp, ok := status.ParseListURL(base+"/", ref.URL(base, p))
		if !ok || got != ref || gp != p {
			t.Errorf("ParseListURL(%s) = %+v %s %v", ref.URL(base, p), got, gp, ok)
		}
	}
	for _, u := range []string{
		"https://other.example/status/v1/" + issuerA + "/1/revocation",
		base + "/status/v1/" + issuerA + "/1/message",
		base + "/status/v1/" + issuerA + "/0/revocation",
		base + "/status/v1/" + issuerA + "/01/revocation",
		base + "/status/v1/" + issuerA + "/1/revocation/x",
		base + "/status/v1/" + issuerA + "/1",
	} {
		if _, _, ok := status.ParseListURL(base, u); ok {
			t.Errorf("ParseListURL(%s) accepted", u)
		}
	}
}

// TestLiveBitsAndSnapshots: Bit reads what the store committed, at once,
// and Snapshots every purpose of every list.
func TestLiveBitsAndSnapshots(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db, nil)
		a := allocate(t, db, s, issuerA)
		b := allocate(t, db, s, issuerB)
		rev, susp := a.Slot.List.URL(base, statuslist.PurposeRevocation), a.Slot.List.URL(base, statuslist.PurposeSuspension)
		bit := func(u string, p statuslist.Purpose, i int) bool {
			t.Helper()
			set, at, err := s.Bit(ctx, u, p, i)
			if err != nil || at.IsZero() {
				t.Fatalf("Bit(%s, %d): %v at %s", u, i, err, at)
			}
			return set
		}
		if bit(rev, statuslist.PurposeRevocation, a.Slot.Index) || bit(susp, statuslist.PurposeSuspension, a.Slot.Index) {
			t.Fatal("bits of a new slot are set")
		}
		storetest.Write(t, db, func(tx *store.Tx) error { return s.SetState(ctx, tx, a.Slot, status.Suspended) })
		if !bit(susp, statuslist.PurposeSuspension, a.Slot.Index) || bit(rev, statuslist.PurposeRevocation, a.Slot.Index) {
			t.Fatal("suspension not read at once")
		}
		storetest.Write(t, db, func(tx *store.Tx) error { return s.SetState(ctx, tx, a.Slot, status.Revoked) })
		if !bit(rev, statuslist.PurposeRevocation, a.Slot.Index) || bit(susp, statuslist.PurposeSuspension, a.Slot.Index) {
			t.Fatal("revocation not read at once")
		}
		for name, c := range map[string]struct {
			url     string
			purpose statuslist.Purpose
			index   int
			kind    apperr.Kind
		}{
			"another purpose":  {rev, statuslist.PurposeSuspension, 0, apperr.NotFound},
			"no such list":     {status.ListRef{Issuer: issuerA, Purposes: status.RevocationAndSuspension, Number: 9}.URL(base, statuslist.PurposeRevocation), statuslist.PurposeRevocation, 0, apperr.NotFound},
			"another platform": {"https://x.example/status/v1/" + issuerA + "/1/revocation", statuslist.PurposeRevocation, 0, apperr.NotFound},
			"index outside":    {rev, statuslist.PurposeRevocation, status.DefaultListSize, apperr.Invalid},
		} {
			if _, _, err := s.Bit(ctx, c.url, c.purpose, c.index); !errors.Is(err, c.kind) {
				t.Errorf("%s: %v, want %v", name, err, c.kind)
			}
		}

		snaps, err := s.Snapshots(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(snaps) != 4 {
			t.Fatalf("%d snapshots, want 2 lists × 2 purposes", len(snaps))
		}
		for _, sn := range snaps {
			set, _ := sn.Bits.Get(a.Slot.Index)
			want := sn.List.Issuer == issuerA && sn.Purpose == statuslist.PurposeRevocation
			if sn.List.Issuer == issuerB {
				set, _ = sn.Bits.Get(b.Slot.Index)
			}
			if set != want || sn.URL != sn.List.URL(base, sn.Purpose) || sn.At.IsZero() {
				t.Errorf("snapshot %s: bit %v (want %v), at %s", sn.URL, set, want, sn.At)
			}
		}
	})
}
