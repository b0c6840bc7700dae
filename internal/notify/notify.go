package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
)

// Sink delivers events to one place outside the platform.
type Sink interface {
	// Name identifies the sink in the store and in metrics ("webhook",
	// "nats"); it must not change while events wait for it.
	Name() string
	// Deliver delivers ev and returns nil only once the receiver has
	// taken it (2xx, a JetStream ack). ctx carries the per-attempt
	// deadline. A *StatusError reports a receiver's answer.
	Deliver(ctx context.Context, ev Event) error
}

// StatusError is a webhook's answer other than 2xx. Every such answer is
// retried; the status is kept for operators.
type StatusError struct {
	Status int
	Body   string // the start of the answer, for operators
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body)
}

// Options tune delivery; zero values take the defaults.
type Options struct {
	Sinks []Sink
	// Upstream names the sink that files with the upstream platform: acks
	// run when an event reaches it. Empty means none.
	Upstream string
	// Poll is how often each sink's worker looks for due events (default
	// 5 s).
	Poll time.Duration
	// Timeout bounds one delivery attempt (default 10 s).
	Timeout time.Duration
	// MaxAttempts after which a delivery is dead until requeued (default
	// 20: with the default backoff about 10 hours of trying).
	MaxAttempts int
	// Backoff after the first failed attempt (default 5 s), doubled after
	// each further one up to MaxBackoff (default 1 h).
	Backoff, MaxBackoff time.Duration
	// Batch is how many deliveries a worker claims at once (default 16).
	Batch    int
	Log      *slog.Logger
	Registry prometheus.Registerer // nil: metrics are kept but not exported
	Now      func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 20
	}
	if o.Backoff <= 0 {
		o.Backoff = 5 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Hour
	}
	if o.Batch <= 0 {
		o.Batch = 16
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Notifier delivers the outbox and lets operators list and requeue it. T is
// the store's transaction type, through which acks reach the stores they
// need.
type Notifier[T Tx] struct {
	store   Store
	tx      TxFunc[T]
	acks    map[string]Ack[T]
	opts    Options
	names   []string
	metrics *metrics
}

// New returns a Notifier. acks, by topic, run when an event reaches the
// upstream sink, in the transaction that marks it delivered.
func New[T Tx](st Store, tx TxFunc[T], acks map[string]Ack[T], o Options) (*Notifier[T], error) {
	o = o.withDefaults()
	n := &Notifier[T]{store: st, tx: tx, acks: acks, opts: o}
	seen := map[string]bool{}
	for _, s := range o.Sinks {
		if seen[s.Name()] {
			return nil, fmt.Errorf("two sinks are named %s", s.Name())
		}
		seen[s.Name()] = true
		n.names = append(n.names, s.Name())
	}
	if o.Upstream != "" && !seen[o.Upstream] {
		return nil, fmt.Errorf("the upstream sink %s is not configured", o.Upstream)
	}
	m, err := newMetrics(o.Registry)
	if err != nil {
		return nil, err
	}
	n.metrics = m
	return n, nil
}

// Sinks names the configured sinks.
func (n *Notifier[T]) Sinks() []string { return n.names }

// Run delivers until ctx ends, one worker per sink, each polling every
// Options.Poll; without sinks it returns at once and events stay queued.
// An attempt under way when ctx ends is abandoned; its lease makes it due
// again later.
func (n *Notifier[T]) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range n.opts.Sinks {
		wg.Go(func() {
			t := time.NewTicker(n.opts.Poll)
			defer t.Stop()
			for {
				for {
					got, err := n.pass(ctx, s)
					if err != nil && ctx.Err() == nil {
						n.opts.Log.Warn("outbox delivery", "sink", s.Name(), "error", err.Error())
					}
					// A full batch suggests more are due: go on at once.
					if err != nil || got < n.opts.Batch || ctx.Err() != nil {
						break
					}
				}
				n.observeBacklog(ctx)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		})
	}
	wg.Wait()
}

// Pass claims and attempts the due deliveries of every sink once and
// returns how many it attempted.
func (n *Notifier[T]) Pass(ctx context.Context) (int, error) {
	total := 0
	var errs []error
	for _, s := range n.opts.Sinks {
		got, err := n.pass(ctx, s)
		total += got
		if err != nil {
			errs = append(errs, err)
		}
	}
	n.observeBacklog(ctx)
	return total, errors.Join(errs...)
}

// pass claims one batch for s and attempts each delivery of it.
func (n *Notifier[T]) pass(ctx context.Context, s Sink) (int, error) {
	now := n.opts.Now()
	// The lease outlasts every attempt of the batch, which run one after
	// the other, so no other worker claims them while this one works.
	lease := now.Add(time.Duration(n.opts.Batch+1) * n.opts.Timeout)
	ds, err := n.store.ClaimDeliveries(ctx, Claim{Sinks: n.names, Sink: s.Name(), Now: now, LeaseUntil: lease, Limit: n.opts.Batch})
	if err != nil {
		return 0, err
	}
	var errs []error
	for i, d := range ds {
		if ctx.Err() != nil {
			// Stopping: what this worker will not attempt goes back at
			// once, uncounted, rather than waiting out the lease.
			errs = append(errs, n.release(ctx, ds[i:]))
			return i, errors.Join(errs...)
		}
		if err := n.attempt(ctx, s, d); err != nil {
			errs = append(errs, err)
		}
	}
	return len(ds), errors.Join(errs...)
}

// release gives back claimed deliveries that were not attempted. It runs
// while the worker stops, so on a context of its own.
func (n *Notifier[T]) release(ctx context.Context, ds []Delivery) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var errs []error
	for _, d := range ds {
		errs = append(errs, n.store.ReleaseClaim(rctx, d, n.opts.Now()))
	}
	return errors.Join(errs...)
}

// attempt delivers d once and records the outcome. It returns only errors
// of the store; a failed delivery is recorded, not returned.
func (n *Notifier[T]) attempt(ctx context.Context, s Sink, d Delivery) error {
	actx, cancel := context.WithTimeout(ctx, n.opts.Timeout)
	err := s.Deliver(actx, d.Event)
	cancel()
	if err == nil {
		err = n.tx(ctx, func(tx T) error {
			if err := tx.MarkDelivered(ctx, d, n.opts.Now()); err != nil {
				return err
			}
			if ack := n.acks[d.Topic]; ack != nil && s.Name() == n.opts.Upstream {
				return ack(ctx, tx, d.Event)
			}
			return nil
		})
		switch {
		case err == nil:
			n.metrics.deliveries.WithLabelValues(s.Name(), "delivered").Inc()
			n.opts.Log.Info("outbox event delivered", "event", d.ID, "topic", d.Topic, "sink", s.Name(), "attempt", d.Attempt)
			return nil
		case errors.Is(err, ErrClaimLost), ctx.Err() != nil:
			// Another worker holds the delivery now, or we are stopping.
			return nil
		}
		// Delivered, but the acknowledgement could not be recorded: the
		// receiver sees the event again and deduplicates it by its ID.
		err = fmt.Errorf("delivered, but recording it failed: %w", err)
	}
	if ctx.Err() != nil {
		return nil // shutting down: the lease brings it back
	}
	f := Failure{At: n.opts.Now(), Error: clip(err.Error(), 500)}
	var se *StatusError
	if errors.As(err, &se) {
		f.Status = se.Status
	}
	f.NextAttemptAt = f.At.Add(n.backoff(d.Attempt))
	f.Dead = d.Attempt >= n.opts.MaxAttempts
	if rerr := n.store.RecordFailure(ctx, d, f); errors.Is(rerr, ErrClaimLost) {
		return nil
	} else if rerr != nil {
		return rerr
	}
	result := "failed"
	if f.Dead {
		result = "dead"
	}
	n.metrics.deliveries.WithLabelValues(s.Name(), result).Inc()
	n.opts.Log.Warn("outbox delivery failed", "event", d.ID, "topic", d.Topic, "sink", s.Name(), "attempt", d.Attempt,
		"dead", f.Dead, "next_attempt_at", f.NextAttemptAt, "error", f.Error)
	return nil
}

// backoff is the wait after the given failed attempt: Backoff doubled per
// earlier failure, capped at MaxBackoff.
func (n *Notifier[T]) backoff(attempt int) time.Duration {
	d := n.opts.Backoff
	for i := 1; i < attempt && d < n.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, n.opts.MaxBackoff)
}

func (n *Notifier[T]) observeBacklog(ctx context.Context) {
	count, oldest, err := n.store.OutboxBacklog(ctx)
	if err != nil {
		return
	}
	n.metrics.pending.Set(float64(count))
	age := 0.0
	if !oldest.IsZero() {
		age = n.opts.Now().Sub(oldest).Seconds()
	}
	n.metrics.oldest.Set(age)
}

// List lists undelivered events (or only those with a dead delivery),
// oldest first, at most limit (default 100).
func (n *Notifier[T]) List(ctx context.Context, dead bool, limit int) ([]Item, error) {
	if limit <= 0 {
		limit = 100
	}
	return n.store.ListOutbox(ctx, Filter{Dead: dead, Limit: limit})
}

// Requeue makes every dead delivery of event id due now, with its attempts
// counted afresh, and records that in the audit log. It returns how many
// deliveries it requeued; none is a conflict (no delivery of the event is
// dead: each is done or still being tried).
func (n *Notifier[T]) Requeue(ctx context.Context, id string) (int, error) {
	id = strings.TrimSpace(id)
	var count int
	err := n.tx(ctx, func(tx T) error {
		now := n.opts.Now()
		c, err := tx.RequeueOutbox(ctx, id, now)
		if errors.Is(err, apperr.NotFound) {
			return apperr.New(apperr.NotFound, "no outbox event has id %s", id)
		}
		if err != nil {
			return err
		}
		if c == 0 {
			return apperr.New(apperr.Conflict, "event %s has nothing to requeue: no delivery of it is dead (each is done or still being tried)", id)
		}
		count = c
		return auditlog.Record(ctx, tx, auditlog.Entry{At: now, Action: "outbox.requeued", Subject: id,
			Details: map[string]string{"deliveries": fmt.Sprint(c)}})
	})
	return count, err
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

type metrics struct {
	deliveries *prometheus.CounterVec
	pending    prometheus.Gauge
	oldest     prometheus.Gauge
}

func newMetrics(r prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zhengzhao_outbox_deliveries_total",
			Help: "Outbox delivery attempts by sink and result (delivered, failed, dead).",
		}, []string{"sink", "result"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zhengzhao_outbox_pending_events",
			Help: "Outbox events not yet delivered to every sink, dead ones included.",
		}),
		oldest: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zhengzhao_outbox_oldest_pending_seconds",
			Help: "Age of the oldest outbox event not yet delivered to every sink.",
		}),
	}
	if r != nil {
		for _, c := range []prometheus.Collector{m.deliveries, m.pending, m.oldest} {
			if err := r.Register(c); err != nil {
				return nil, fmt.Errorf("outbox metrics: %w", err)
			}
		}
	}
	return m, nil
}
