package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/notify"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

func addEvents(t *testing.T, db *store.DB, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id := fmt.Sprintf("obx_%04d", i)
		storetest.Write(t, db, func(tx *store.Tx) error {
			return tx.InsertOutbox(context.Background(), id, "seal.filing", []byte(`{"n":1}`), t0.Add(time.Duration(i)*time.Millisecond))
		})
		ids = append(ids, id)
	}
	return ids
}

func claim(t *testing.T, db *store.DB, sink string, now time.Time, limit int) []notify.Delivery {
	t.Helper()
	ds, err := db.ClaimDeliveries(context.Background(), notify.Claim{Sinks: []string{"webhook", "nats"}, Sink: sink, Now: now,
		LeaseUntil: now.Add(time.Minute), Limit: limit})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func markDelivered(db *store.DB, d notify.Delivery, at time.Time) error {
	return db.NotifyTx(context.Background(), func(tx *store.Tx) error { return tx.MarkDelivered(context.Background(), d, at) })
}

// TestOutboxClaimLeaseDeliver walks one event through both sinks: claims
// fan out, a lease hides a claimed delivery, a stale claim cannot report,
// and the event counts as delivered only when every sink has it.
func TestOutboxClaimLeaseDeliver(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addEvents(t, db, 1)
		now := t0.Add(time.Second)
		got := claim(t, db, "webhook", now, 10)
		if len(got) != 1 || got[0].Attempt != 1 || got[0].Claim != 1 || got[0].Sink != "webhook" || string(got[0].Payload) != `{"n":1}` || !got[0].CreatedAt.Equal(t0) {
			t.Fatalf("first claim = %+v", got)
		}
		if again := claim(t, db, "webhook", now.Add(30*time.Second), 10); len(again) != 0 {
			t.Fatalf("claimed %d deliveries inside the lease", len(again))
		}
		// The lease runs out: another worker claims it, and the first one's
		// report is refused.
		second := claim(t, db, "webhook", now.Add(2*time.Minute), 10)
		if len(second) != 1 || second[0].Attempt != 2 || second[0].Claim != 2 {
			t.Fatalf("claim after the lease = %+v", second)
		}
		if err := markDelivered(db, got[0], now); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("report on a stale claim = %v, want conflict", err)
		}
		if err := markDelivered(db, second[0], now.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		items, err := db.ListOutbox(ctx, notify.Filter{Limit: 10})
		if err != nil || len(items) != 1 || len(items[0].Deliveries) != 2 {
			t.Fatalf("outbox with nats pending = %+v, %v", items, err)
		}
		if n, oldest, err := db.OutboxBacklog(ctx); err != nil || n != 1 || !oldest.Equal(t0) {
			t.Fatalf("backlog = %d, %v, %v", n, oldest, err)
		}
		ns := claim(t, db, "nats", now, 10)
		if len(ns) != 1 {
			t.Fatalf("nats claim = %+v", ns)
		}
		if err := markDelivered(db, ns[0], now); err != nil {
			t.Fatal(err)
		}
		if items, err := db.ListOutbox(ctx, notify.Filter{Limit: 10}); err != nil || len(items) != 0 {
			t.Fatalf("outbox after both sinks = %+v, %v", items, err)
		}
		if n, oldest, err := db.OutboxBacklog(ctx); err != nil || n != 0 || !oldest.IsZero() {
			t.Fatalf("empty backlog = %d, %v, %v", n, oldest, err)
		}
		if err := markDelivered(db, ns[0], now); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("second report = %v, want conflict", err)
		}
	})
}

// TestOutboxFailureDeadRequeue records failures until a delivery is dead,
// lists it, and requeues it.
func TestOutboxFailureDeadRequeue(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ids := addEvents(t, db, 2)
		now := t0.Add(time.Second)
		ds := claim(t, db, "webhook", now, 1)
		if len(ds) != 1 || ds[0].ID != ids[0] {
			t.Fatalf("claim = %+v, want the oldest event", ds)
		}
		for _, tc := range []struct {
			name string
			f    notify.Failure
			due  bool // claimable at f.NextAttemptAt
		}{
			{"retry", notify.Failure{At: now, NextAttemptAt: now.Add(10 * time.Second), Error: "HTTP 503: busy", Status: 503}, true},
			{"dead", notify.Failure{At: now, NextAttemptAt: now.Add(20 * time.Second), Dead: true, Error: "HTTP 400", Status: 400}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := db.RecordFailure(ctx, ds[0], tc.f); err != nil {
					t.Fatal(err)
				}
				if err := db.RecordFailure(ctx, ds[0], tc.f); !errors.Is(err, apperr.Conflict) && tc.f.Dead {
					t.Fatalf("failure recorded on a dead delivery: %v", err)
				}
				next := claim(t, db, "webhook", tc.f.NextAttemptAt, 10)
				found := false
				for _, d := range next {
					found = found || d.ID == ids[0]
					if d.ID == ids[0] {
						ds[0] = d
					}
				}
				if found != tc.due {
					t.Fatalf("claimable after %s = %v, want %v (%+v)", tc.name, found, tc.due, next)
				}
			})
		}
		dead, err := db.ListOutbox(ctx, notify.Filter{Dead: true, Limit: 10})
		if err != nil || len(dead) != 1 || dead[0].ID != ids[0] {
			t.Fatalf("dead = %+v, %v", dead, err)
		}
		var wh notify.DeliveryState
		for _, s := range dead[0].Deliveries {
			if s.Sink == "webhook" {
				wh = s
			}
		}
		if wh.DeadAt == nil || wh.LastStatus != 400 || wh.LastError != "HTTP 400" || wh.Attempts != 2 {
			t.Fatalf("dead delivery = %+v", wh)
		}
		// A worker still holding the claim before the death cannot report
		// on the requeued delivery.
		stale := ds[0]
		err = db.NotifyTx(ctx, func(tx *store.Tx) error {
			n, err := tx.RequeueOutbox(ctx, ids[0], now.Add(time.Hour))
			if err == nil && n != 1 { // the dead webhook delivery, not the nats one still being tried
				err = fmt.Errorf("requeued %d, want 1", n)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.RecordFailure(ctx, stale, notify.Failure{At: now, NextAttemptAt: now.Add(2 * time.Hour), Dead: true}); !errors.Is(err, notify.ErrClaimLost) {
			t.Fatalf("a report of the claim before the requeue = %v, want ErrClaimLost", err)
		}
		var requeued *notify.Delivery
		for _, d := range claim(t, db, "webhook", now.Add(time.Hour), 10) {
			if d.ID == ids[0] {
				requeued = &d
			}
		}
		if requeued == nil || requeued.Attempt != 1 || requeued.Claim != 4 {
			t.Fatalf("claim after requeue = %+v, want attempt 1 of claim 4", requeued)
		}
		err = db.WithTx(ctx, func(tx *store.Tx) error {
			_, err := tx.RequeueOutbox(ctx, "obx_none", now)
			return err
		})
		if !errors.Is(err, apperr.NotFound) {
			t.Fatalf("requeue of an unknown event = %v, want not-found", err)
		}
	})
}

// TestOutboxConcurrentClaims lets several workers claim the same sink at
// once, released together: every event is claimed by exactly one of them,
// and all are delivered.
func TestOutboxConcurrentClaims(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		const events, workers = 120, 6
		addEvents(t, db, events)
		now := t0.Add(time.Second)
		var mu sync.Mutex
		claimed := map[string][]notify.Delivery{}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errc := make(chan error, workers)
		for range workers {
			wg.Go(func() {
				<-start
				for {
					ds, err := db.ClaimDeliveries(context.Background(), notify.Claim{Sinks: []string{"webhook"}, Sink: "webhook",
						Now: now, LeaseUntil: now.Add(time.Hour), Limit: 3})
					if err != nil {
						errc <- err
						return
					}
					if len(ds) == 0 {
						return
					}
					mu.Lock()
					for _, d := range ds {
						claimed[d.ID] = append(claimed[d.ID], d)
					}
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		if len(claimed) != events {
			t.Fatalf("%d events claimed, want %d", len(claimed), events)
		}
		for id, ds := range claimed {
			if len(ds) != 1 {
				t.Errorf("event %s claimed %d times", id, len(ds))
				continue
			}
			if err := markDelivered(db, ds[0], now); err != nil {
				t.Fatal(err)
			}
		}
		if n, _, err := db.OutboxBacklog(context.Background()); err != nil || n != 0 {
			t.Fatalf("backlog after the workers = %d, %v", n, err)
		}
	})
}

// TestOutboxReleaseClaim gives back a claim that was never attempted: the
// delivery is due again at once and the claim did not count as an attempt;
// a release of a claim that moved on changes nothing.
func TestOutboxReleaseClaim(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addEvents(t, db, 1)
		now := t0.Add(time.Second)
		first := claim(t, db, "webhook", now, 1)
		if len(first) != 1 || first[0].Attempt != 1 {
			t.Fatalf("first claim = %+v", first)
		}
		if got := claim(t, db, "webhook", now, 1); len(got) != 0 {
			t.Fatalf("a leased delivery was claimed again: %+v", got)
		}
		if err := db.ReleaseClaim(ctx, first[0], now); err != nil {
			t.Fatal(err)
		}
		again := claim(t, db, "webhook", now, 1)
		if len(again) != 1 || again[0].Attempt != 1 || again[0].Claim == first[0].Claim {
			t.Fatalf("claim after the release = %+v, want attempt 1 under a new claim", again)
		}
		// The first claim is stale now: releasing it must not free the new one.
		if err := db.ReleaseClaim(ctx, first[0], now); err != nil {
			t.Fatal(err)
		}
		if got := claim(t, db, "webhook", now, 1); len(got) != 0 {
			t.Fatalf("a stale release freed the current claim: %+v", got)
		}
	})
}
