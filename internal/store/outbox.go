package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/notify"
)

var (
	_ notify.Store        = (*DB)(nil)
	_ notify.Tx           = (*Tx)(nil)
	_ notify.OutboxWriter = (*Tx)(nil)
)

// ClaimDeliveries implements notify.Store. It is on DB because it runs its
// own short transaction, apart from any business operation: a worker
// holds no transaction open while it delivers. On PostgreSQL the claim runs READ
// COMMITTED with FOR UPDATE SKIP LOCKED: concurrent claimers pass over each
// other's rows instead of waiting or failing serialization, and a row one
// claimer moved into its lease is no longer due for the next. On SQLite the
// IMMEDIATE transaction serializes claimers.
func (d *DB) ClaimDeliveries(ctx context.Context, c notify.Claim) ([]notify.Delivery, error) {
	if len(c.Sinks) == 0 || c.Limit <= 0 {
		return nil, nil
	}
	var out []notify.Delivery
	err := d.withTx(ctx, sql.LevelReadCommitted, func(tx *Tx) error {
		// Fan out: every undelivered event gets a delivery row per
		// configured sink. ON CONFLICT makes concurrent fan-outs harmless.
		sinks := strings.TrimSuffix(strings.Repeat(`SELECT CAST(? AS TEXT) AS sink UNION ALL `, len(c.Sinks)), ` UNION ALL `)
		args := make([]any, 0, len(c.Sinks))
		for _, s := range c.Sinks {
			args = append(args, s)
		}
		if _, err := tx.exec(ctx, `INSERT INTO outbox_deliveries (event_id, sink, next_attempt_at)
			SELECT o.id, s.sink, o.created_at FROM outbox o CROSS JOIN (`+sinks+`) s
			WHERE o.delivered_at IS NULL
			  AND NOT EXISTS (SELECT 1 FROM outbox_deliveries x WHERE x.event_id = o.id AND x.sink = s.sink)
			ON CONFLICT DO NOTHING`, args...); err != nil {
			return fmt.Errorf("fan out outbox events: %w", err)
		}
		lock := ``
		if d.dialect == Postgres {
			lock = ` FOR UPDATE OF d SKIP LOCKED`
		}
		rows, err := tx.query(ctx, `SELECT d.event_id, d.attempts, d.claims, o.topic, o.payload, o.created_at
			FROM outbox_deliveries d JOIN outbox o ON o.id = d.event_id
			WHERE d.sink = ? AND d.delivered_at IS NULL AND d.dead_at IS NULL AND d.next_attempt_at <= ?
			ORDER BY d.next_attempt_at, d.event_id LIMIT ?`+lock, c.Sink, micros(c.Now), c.Limit)
		out, err = collect(rows, err, func(s scanner) (notify.Delivery, error) {
			var x notify.Delivery
			var payload string
			var created int64
			if err := s.Scan(&x.ID, &x.Attempt, &x.Claim, &x.Topic, &payload, &created); err != nil {
				return x, err
			}
			x.Payload, x.CreatedAt, x.Sink = []byte(payload), fromMicros(created), c.Sink
			x.Attempt++
			x.Claim++
			return x, nil
		})
		if err != nil {
			return fmt.Errorf("claim outbox deliveries: %w", err)
		}
		for _, x := range out {
			if _, err := tx.exec(ctx, `UPDATE outbox_deliveries SET attempts = ?, claims = ?, next_attempt_at = ? WHERE event_id = ? AND sink = ?`,
				x.Attempt, x.Claim, micros(c.LeaseUntil), x.ID, x.Sink); err != nil {
				return fmt.Errorf("claim outbox delivery %s: %w", x.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MarkDelivered implements notify.Tx.
func (tx *Tx) MarkDelivered(ctx context.Context, d notify.Delivery, at time.Time) error {
	res, err := tx.exec(ctx, `UPDATE outbox_deliveries SET delivered_at = ?, last_error = '', last_status = 0
		WHERE event_id = ? AND sink = ? AND claims = ? AND delivered_at IS NULL AND dead_at IS NULL`, micros(at), d.ID, d.Sink, d.Claim)
	if err != nil {
		return fmt.Errorf("mark %s delivered to %s: %w", d.ID, d.Sink, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.Wrap(apperr.Conflict, notify.ErrClaimLost, "delivery of %s to %s was claimed again meanwhile", d.ID, d.Sink)
	}
	// Under SERIALIZABLE two sinks finishing the same event at once cannot
	// both miss the other's delivery; SQLite writers take turns.
	if _, err := tx.exec(ctx, `UPDATE outbox SET delivered_at = ? WHERE id = ?
		AND NOT EXISTS (SELECT 1 FROM outbox_deliveries WHERE event_id = ? AND delivered_at IS NULL)`, micros(at), d.ID, d.ID); err != nil {
		return fmt.Errorf("mark %s delivered: %w", d.ID, err)
	}
	return nil
}

// RecordFailure implements notify.Store. It is on DB, one auto-committed
// UPDATE guarded by the claim counter, because a failed attempt is recorded
// after the delivery, when no transaction is open, and must stick even if
// nothing else happens.
func (d *DB) RecordFailure(ctx context.Context, x notify.Delivery, f notify.Failure) error {
	var dead sql.NullInt64
	if f.Dead {
		dead = sql.NullInt64{Int64: micros(f.At), Valid: true}
	}
	var res sql.Result
	err := d.retry(ctx, func() (err error) {
		res, err = d.exec(ctx, `UPDATE outbox_deliveries SET next_attempt_at = ?, last_error = ?, last_status = ?, dead_at = ?
		WHERE event_id = ? AND sink = ? AND claims = ? AND delivered_at IS NULL AND dead_at IS NULL`,
			micros(f.NextAttemptAt), f.Error, f.Status, dead, x.ID, x.Sink, x.Claim)
		return err
	})
	if err != nil {
		return fmt.Errorf("record failed delivery of %s to %s: %w", x.ID, x.Sink, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.Wrap(apperr.Conflict, notify.ErrClaimLost, "delivery of %s to %s was claimed again meanwhile", x.ID, x.Sink)
	}
	return nil
}

// ReleaseClaim implements notify.Store. A claim that moved on meanwhile is
// left alone. It is on DB, one auto-committed UPDATE, for the reason
// RecordFailure is: a worker gives claims back when it stops, outside any
// transaction.
func (d *DB) ReleaseClaim(ctx context.Context, x notify.Delivery, now time.Time) error {
	err := d.retry(ctx, func() error {
		_, err := d.exec(ctx, `UPDATE outbox_deliveries SET next_attempt_at = ?, attempts = attempts - 1
		WHERE event_id = ? AND sink = ? AND claims = ? AND delivered_at IS NULL AND dead_at IS NULL`,
			micros(now), x.ID, x.Sink, x.Claim)
		return err
	})
	if err != nil {
		return fmt.Errorf("release the claim of %s to %s: %w", x.ID, x.Sink, err)
	}
	return nil
}

// RequeueOutbox implements notify.Tx. Only dead deliveries are requeued: no
// worker holds them, so the requeued delivery cannot be sent twice at once.
// The claim counter moves on all the same, so that no report of an earlier
// claim lands on the requeued delivery.
func (tx *Tx) RequeueOutbox(ctx context.Context, id string, now time.Time) (int, error) {
	res, err := tx.exec(ctx, `UPDATE outbox_deliveries SET attempts = 0, next_attempt_at = ?, dead_at = NULL, claims = claims + 1
		WHERE event_id = ? AND delivered_at IS NULL AND dead_at IS NOT NULL`, micros(now), id)
	if err != nil {
		return 0, fmt.Errorf("requeue %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, mapErr(err)
	}
	if n == 0 {
		var one int
		if err := mapErr(tx.queryRow(ctx, `SELECT 1 FROM outbox WHERE id = ?`, id).Scan(&one)); err != nil {
			return 0, fmt.Errorf("outbox event %s: %w", id, err)
		}
	}
	return int(n), nil
}

// InsertOutbox implements notify.OutboxWriter.
func (tx *Tx) InsertOutbox(ctx context.Context, id, topic string, payload []byte, at time.Time) error {
	return tx.InsertOutboxes(ctx, []license.OutboxEvent{{ID: id, Topic: topic, Payload: payload, At: at}})
}

// ListOutbox implements notify.Reader.
func (h handle) ListOutbox(ctx context.Context, f notify.Filter) ([]notify.Item, error) {
	where := `o.delivered_at IS NULL`
	if f.Dead {
		// An event with a dead delivery is undelivered: the first condition
		// keeps the scan to the pending index, not every event ever sent.
		where += ` AND EXISTS (SELECT 1 FROM outbox_deliveries x WHERE x.event_id = o.id AND x.dead_at IS NOT NULL)`
	}
	rows, err := h.query(ctx, `SELECT o.id, o.topic, o.created_at FROM outbox o WHERE `+where+` ORDER BY o.created_at, o.id LIMIT ?`, f.Limit)
	items, err := collect(rows, err, func(s scanner) (notify.Item, error) {
		var it notify.Item
		var created int64
		err := s.Scan(&it.ID, &it.Topic, &created)
		it.CreatedAt, it.Deliveries = fromMicros(created), []notify.DeliveryState{}
		return it, err
	})
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	if len(items) == 0 {
		return nil, nil
	}
	index := make(map[string]int, len(items))
	args := make([]any, 0, len(items))
	for i, it := range items {
		index[it.ID] = i
		args = append(args, it.ID)
	}
	type eventDelivery struct {
		event string
		state notify.DeliveryState
	}
	rows, err = h.query(ctx, `SELECT event_id, sink, attempts, next_attempt_at, last_error, last_status, delivered_at, dead_at
		FROM outbox_deliveries WHERE event_id IN (`+placeholders(len(args))+`) ORDER BY event_id, sink`, args...)
	deliveries, err := collect(rows, err, func(s scanner) (eventDelivery, error) {
		var d eventDelivery
		var next int64
		var delivered, dead sql.NullInt64
		if err := s.Scan(&d.event, &d.state.Sink, &d.state.Attempts, &next, &d.state.LastError, &d.state.LastStatus, &delivered, &dead); err != nil {
			return d, err
		}
		d.state.NextAttemptAt, d.state.DeliveredAt, d.state.DeadAt = fromMicros(next), timePtr(delivered), timePtr(dead)
		return d, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list outbox deliveries: %w", err)
	}
	for _, d := range deliveries {
		it := &items[index[d.event]]
		it.Deliveries = append(it.Deliveries, d.state)
	}
	return items, nil
}

// OutboxBacklog implements notify.Reader.
func (h handle) OutboxBacklog(ctx context.Context) (int, time.Time, error) {
	var n int
	var oldest sql.NullInt64
	if err := mapErr(h.queryRow(ctx, `SELECT COUNT(*), MIN(created_at) FROM outbox WHERE delivered_at IS NULL`).Scan(&n, &oldest)); err != nil {
		return 0, time.Time{}, fmt.Errorf("outbox backlog: %w", err)
	}
	if !oldest.Valid {
		return n, time.Time{}, nil
	}
	return n, fromMicros(oldest.Int64), nil
}

// NotifyTx runs fn in one transaction; it is the notify.TxFunc of this
// store.
func (d *DB) NotifyTx(ctx context.Context, fn func(*Tx) error) error {
	return d.WithTx(ctx, fn)
}
