// Package notify delivers the events of the transactional outbox (DESIGN.md
// §1) to the sinks outside the platform: a webhook and a NATS JetStream
// subject for the upstream platform (R-INT-1). Events are written by the
// capability packages in the transaction of the change that causes them;
// this package claims them through the database, so that several serve
// processes never deliver the same event at the same time, delivers them
// at least once, retries with exponential backoff and gives up after a
// bounded number of attempts, leaving a dead delivery for an operator to
// requeue.
//
// When an event reaches the upstream sink, an acknowledgement registered
// for its topic runs in the transaction that marks the delivery done: that
// is how a seal's filing record (备案, R-SEAL-3) makes the seal filed.
package notify

import (
	"context"
	"errors"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
)

// Event is one outbox event as its transaction wrote it.
type Event struct {
	ID        string
	Topic     string
	Payload   []byte // JSON
	CreatedAt time.Time
}

// Delivery is an event claimed for one sink by one worker.
type Delivery struct {
	Event
	Sink string
	// Attempt counts the attempts since the event was written or last
	// requeued, this one included.
	Attempt int
	// Claim is the token of this claim: a worker whose lease ran out and
	// whose delivery was claimed again can no longer report on it.
	Claim int64
}

// DeliveryState is where an event's delivery to one sink stands, for
// operators.
type DeliveryState struct {
	Sink          string     `json:"sink"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	LastError     string     `json:"last_error,omitempty"`
	LastStatus    int        `json:"last_status,omitempty"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
	DeadAt        *time.Time `json:"dead_at,omitempty"`
}

// Item is an undelivered event with its deliveries, for operators. An event
// no sink has claimed yet has no deliveries.
type Item struct {
	ID         string          `json:"id"`
	Topic      string          `json:"topic"`
	CreatedAt  time.Time       `json:"created_at"`
	Deliveries []DeliveryState `json:"deliveries"`
}

// Claim asks for due deliveries of one sink.
type Claim struct {
	// Sinks are every configured sink: an event is fanned out to all of
	// them when it is first claimed.
	Sinks []string
	// Sink is the sink whose due deliveries are claimed.
	Sink string
	Now  time.Time
	// LeaseUntil is when claimed deliveries fall due again if the worker
	// never reports back (it crashed); it must lie beyond the end of every
	// attempt of the batch.
	LeaseUntil time.Time
	Limit      int
}

// Failure is the outcome of a failed attempt.
type Failure struct {
	At            time.Time
	NextAttemptAt time.Time
	Dead          bool // no further attempts until an operator requeues it
	Error         string
	Status        int // HTTP status, when a webhook answered
}

// Filter selects the events an operator lists; the zero value lists every
// undelivered event.
type Filter struct {
	Dead  bool // only events with a dead delivery
	Limit int
}

// ErrClaimLost means a worker reported on a delivery whose claim is no
// longer the current one: its lease ran out and another worker claimed the
// delivery, or an operator requeued it. The worker drops its result; the
// current claim decides. Stores wrap it in an apperr.Conflict.
var ErrClaimLost = errors.New("the delivery was claimed again meanwhile")

// Reader reads the outbox.
type Reader interface {
	// ListOutbox lists undelivered events, oldest first.
	ListOutbox(ctx context.Context, f Filter) ([]Item, error)
	// OutboxBacklog counts undelivered events and returns the creation time
	// of the oldest (zero when there is none).
	OutboxBacklog(ctx context.Context) (int, time.Time, error)
}

// Store is what the service holds outside a transaction: the reads, and
// the claims of a delivery worker. Each claim operation is its own short
// transaction, so that a worker holds no transaction open while it
// delivers and a slow receiver keeps no lock. Methods that report on a
// claim return ErrClaimLost when the claim is no longer the current one.
type Store interface {
	Reader
	// ClaimDeliveries fans new events out to every sink of c.Sinks and
	// claims at most c.Limit deliveries of c.Sink that are due, in one short
	// transaction that moves their due time to c.LeaseUntil; a delivery
	// claimed by one caller is not claimed by another until then.
	ClaimDeliveries(ctx context.Context, c Claim) ([]Delivery, error)
	// RecordFailure records a failed attempt of a claimed delivery.
	RecordFailure(ctx context.Context, d Delivery, f Failure) error
	// ReleaseClaim gives back a claimed delivery that was never attempted:
	// it is due at now and its claim does not count as an attempt.
	ReleaseClaim(ctx context.Context, d Delivery, now time.Time) error
}

// OutboxWriter is the part of a transaction that queues an event: the
// event is delivered exactly when the change that raised it commits.
type OutboxWriter interface {
	InsertOutbox(ctx context.Context, id, topic string, payload []byte, at time.Time) error
}

// Tx is what the transaction that completes a delivery or requeues an event
// needs from the store.
type Tx interface {
	// MarkDelivered records a claimed delivery as done and the event as
	// delivered once every delivery of it is done.
	MarkDelivered(ctx context.Context, d Delivery, at time.Time) error
	// RequeueOutbox makes every dead delivery of the event due at now with
	// its attempts counted afresh, and returns how many it requeued:
	// apperr.NotFound for an unknown event.
	RequeueOutbox(ctx context.Context, id string, now time.Time) (int, error)
	auditlog.Appender
}

// TxFunc runs fn in one transaction of the store.
type TxFunc[T Tx] func(ctx context.Context, fn func(T) error) error

// Ack runs in the transaction that marks an event delivered to the upstream
// sink. An error rolls that transaction back: the delivery counts as failed
// and is attempted again.
type Ack[T Tx] func(ctx context.Context, tx T, ev Event) error
