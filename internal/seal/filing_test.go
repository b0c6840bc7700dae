package seal_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestFiling files a seal's makings as the notify worker does when the
// upstream platform takes their records: a renewal queues the seal again,
// and a late record of the first making does not file the renewed seal.
func TestFiling(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setup(t, db)
		x := f.makeSeal(t, seal.OneApprover)
		deliver := func(making int) error {
			return db.SealTx(ctx, func(st seal.Tx) error {
				return f.svc.FilingDelivered(ctx, st, fmt.Appendf(nil, `{"seal_code":%q,"making":%d}`, x.ID, making))
			})
		}
		renew := func() error {
			f.clk.add(x.ValidTo.Sub(f.clk.now()) - 30*24*time.Hour)
			app, err := f.svc.Apply(ctx, f.applicant, seal.NewApplication{Org: f.orgA, Action: seal.Renew, SealID: x.ID, Reason: "到期续期"})
			if err != nil {
				return err
			}
			_, err = f.svc.Decide(ctx, f.approver1, app.ID, true, "")
			return err
		}
		for _, step := range []struct {
			name   string
			do     func() error
			want   string
			events int // "filed" seal events so far
		}{
			{"made", func() error { return nil }, seal.FilingQueued, 0},
			{"first making filed", func() error { return deliver(1) }, seal.FilingFiled, 1},
			{"filed again", func() error { return deliver(1) }, seal.FilingFiled, 1},
			{"renewed", renew, seal.FilingQueued, 1},
			{"late record of the first making", func() error { return deliver(1) }, seal.FilingQueued, 1},
			{"second making filed", func() error { return deliver(2) }, seal.FilingFiled, 2},
		} {
			if err := step.do(); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			got, err := f.svc.GetSeal(ctx, x.ID)
			if err != nil || got.FilingState != step.want {
				t.Fatalf("%s: filing state %q, %v; want %q", step.name, got.FilingState, err, step.want)
			}
			events, err := f.svc.Events(ctx, x.ID)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range events {
				if e.Action == "filed" {
					n++
					if e.Actor != "system" {
						t.Errorf("%s: filed by %q, want system", step.name, e.Actor)
					}
				}
			}
			if n != step.events {
				t.Fatalf("%s: %d filed events, want %d", step.name, n, step.events)
			}
		}
		entries, _ := storetest.AuditEntries(t, db)
		filed := 0
		for _, e := range entries {
			if e.Action == "seal.filed" && e.Actor == "system" && e.Subject == x.ID {
				filed++
			}
		}
		if filed != 2 {
			t.Fatalf("%d seal.filed audit entries, want 2", filed)
		}
		for _, tc := range []struct {
			payload string
			kind    apperr.Kind
		}{
			{`{"seal_code":"NOSUCHSEAL","making":1}`, apperr.NotFound},
			{fmt.Sprintf(`{"seal_code":%q,"making":9}`, x.ID), apperr.Conflict},
		} {
			err := db.SealTx(ctx, func(st seal.Tx) error { return f.svc.FilingDelivered(ctx, st, []byte(tc.payload)) })
			if !errors.Is(err, tc.kind) {
				t.Errorf("FilingDelivered(%s) = %v, want %s", tc.payload, err, tc.kind)
			}
		}
		if err := db.SealTx(ctx, func(st seal.Tx) error { return f.svc.FilingDelivered(ctx, st, []byte(`{}`)) }); err == nil {
			t.Error("an empty filing record was accepted")
		}
	})
}
