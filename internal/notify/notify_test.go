package notify_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/notify"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// scripted answers with the next status of its script, then 200.
type scripted struct {
	mu     sync.Mutex
	script []int
	seen   []string // event IDs, one per request
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, r.Header.Get(notify.HeaderEventID))
	status := http.StatusOK
	if len(s.script) > 0 {
		status, s.script = s.script[0], s.script[1:]
	}
	w.WriteHeader(status)
}

func counter(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "zhengzhao_outbox_deliveries_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestNotifierRetriesAcksAndRequeues drives the worker through a webhook
// upstream that fails, with a real store: backoff, the acknowledgement in
// the delivery's transaction, a dead delivery and its requeue.
func TestNotifierRetriesAcksAndRequeues(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
		recv := &scripted{script: []int{503, 500}}
		srv := httptest.NewServer(recv)
		defer srv.Close()
		hook, err := notify.NewWebhook(srv.URL, secret, clk.now)
		if err != nil {
			t.Fatal(err)
		}
		// The ack writes an audit entry through the delivery's
		// transaction, and fails for one event: the delivery then counts
		// as failed and nothing of the transaction stays.
		acks := map[string]notify.Ack[*store.Tx]{"seal.filing": func(ctx context.Context, tx *store.Tx, ev notify.Event) error {
			if ev.ID == "obx_bad" {
				return errors.New("no such seal")
			}
			return auditlog.Append(ctx, tx, auditlog.Entry{At: clk.now(), Actor: "system", Action: "test.acked", Subject: ev.ID})
		}}
		reg := prometheus.NewRegistry()
		n, err := notify.New(db, db.NotifyTx, acks, notify.Options{Sinks: []notify.Sink{hook}, Upstream: "webhook",
			MaxAttempts: 3, Backoff: 10 * time.Second, MaxBackoff: 15 * time.Second, Registry: reg, Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range []string{"obx_good", "obx_bad"} {
			storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertOutbox(ctx, ev, "seal.filing", []byte(`{}`), clk.now()) })
			clk.add(time.Millisecond)
		}
		pass := func() int {
			t.Helper()
			got, err := n.Pass(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		for _, step := range []struct {
			name      string
			wait      time.Duration
			attempted int
		}{
			{"first attempts: 503 and 500", 0, 2},
			{"inside the backoff", 9 * time.Second, 0},
			{"second attempts: good delivered, bad fails in its ack", 2 * time.Second, 2},
			{"backoff doubled, capped at 15 s", 14 * time.Second, 0},
			{"third attempt of bad: dead", 2 * time.Second, 1},
			{"dead stays", time.Hour, 0},
		} {
			clk.add(step.wait)
			if got := pass(); got != step.attempted {
				t.Fatalf("%s: attempted %d, want %d", step.name, got, step.attempted)
			}
		}
		acked := 0
		entries, _ := storetest.AuditEntries(t, db)
		for _, e := range entries {
			if e.Action == "test.acked" {
				acked++
				if e.Subject != "obx_good" {
					t.Errorf("acked %s", e.Subject)
				}
			}
		}
		if acked != 1 {
			t.Fatalf("%d acks committed, want 1", acked)
		}
		dead, err := n.List(ctx, true, 0)
		if err != nil || len(dead) != 1 || dead[0].ID != "obx_bad" || dead[0].Deliveries[0].DeadAt == nil ||
			dead[0].Deliveries[0].LastError != "delivered, but recording it failed: no such seal" {
			t.Fatalf("dead = %+v, %v", dead, err)
		}
		for result, want := range map[string]float64{"delivered": 1, "failed": 3, "dead": 1} {
			if got := counter(t, reg, result); got != want {
				t.Errorf("deliveries{result=%s} = %v, want %v", result, got, want)
			}
		}

		if _, err := n.Requeue(ctx, "obx_good"); !errors.Is(err, apperr.Conflict) {
			t.Fatalf("requeue of a delivered event = %v, want conflict", err)
		}
		if _, err := n.Requeue(ctx, "obx_nope"); !errors.Is(err, apperr.NotFound) {
			t.Fatalf("requeue of an unknown event = %v, want not-found", err)
		}
		if c, err := n.Requeue(ctx, "obx_bad"); err != nil || c != 1 {
			t.Fatalf("requeue = %d, %v", c, err)
		}
		if got := pass(); got != 1 {
			t.Fatalf("after the requeue attempted %d, want 1", got)
		}
		entries, _ = storetest.AuditEntries(t, db)
		if last := entries[len(entries)-1]; last.Action != "outbox.requeued" || last.Subject != "obx_bad" || last.Actor != auditlog.Operator {
			t.Fatalf("last audit entry = %+v, want the requeue", last)
		}
		// Requests: good 503, bad 500, good 200, bad 200 (ack fails), bad
		// 200 (ack fails, dead), bad after the requeue.
		if want := []string{"obx_good", "obx_bad", "obx_good", "obx_bad", "obx_bad", "obx_bad"}; len(recv.seen) != len(want) {
			t.Fatalf("receiver saw %v, want %v", recv.seen, want)
		}
	})
}

// TestNotifierWithoutSinksLeavesEventsQueued checks the zero configuration:
// no sink, nothing is claimed, events wait.
func TestNotifierWithoutSinksLeavesEventsQueued(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	storetest.Write(t, db, func(tx *store.Tx) error {
		return tx.InsertOutbox(ctx, "obx_1", "seal.filing", []byte(`{}`), time.Now())
	})
	n, err := notify.New(db, db.NotifyTx, nil, notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run without sinks did not return")
	}
	items, err := n.List(ctx, false, 0)
	if err != nil || len(items) != 1 || len(items[0].Deliveries) != 0 {
		t.Fatalf("queue = %+v, %v", items, err)
	}
	if _, err := notify.New(db, db.NotifyTx, nil, notify.Options{Upstream: "nats"}); err == nil {
		t.Fatal("an upstream that is not a configured sink was accepted")
	}
}

// TestNotifierRunStops runs the worker against a receiver and stops it.
func TestNotifierRunStops(t *testing.T) {
	db := storetest.OpenSQLite(t)
	recv := &scripted{}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	hook, _ := notify.NewWebhook(srv.URL, secret, nil)
	n, err := notify.New(db, db.NotifyTx, nil, notify.Options{Sinks: []notify.Sink{hook}, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	storetest.Write(t, db, func(tx *store.Tx) error { return tx.InsertOutbox(ctx, "obx_1", "seal.used", []byte(`{}`), time.Now()) })
	deadline := time.Now().Add(5 * time.Second)
	for {
		items, err := n.List(ctx, false, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not delivered: %+v", items)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}
