-- +goose Up
-- Delivery of outbox events (internal/notify). One outbox row per event, as
-- the changing transaction wrote it; one outbox_deliveries row per event and
-- sink (webhook, nats, …), so that a slow or failing sink never holds back
-- another and each keeps its own attempts, backoff and dead state. Rows are
-- created by the first claim after the event is written, for every sink
-- configured then; outbox.delivered_at is set once every delivery of the
-- event succeeded, which keeps the set of events a claim looks at small.
CREATE TABLE outbox_deliveries (
    event_id        TEXT NOT NULL REFERENCES outbox (id),
    sink            TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,  -- since the last requeue; reaching the maximum makes it dead
    claims          BIGINT NOT NULL DEFAULT 0,   -- every claim ever: the token a worker presents when it reports back
    next_attempt_at BIGINT NOT NULL,             -- due time; while claimed, the end of the worker's lease
    last_error      TEXT NOT NULL DEFAULT '',
    last_status     INTEGER NOT NULL DEFAULT 0,  -- the webhook's HTTP status at the last failure
    delivered_at    BIGINT,
    dead_at         BIGINT,
    PRIMARY KEY (event_id, sink)
);
CREATE INDEX outbox_deliveries_due ON outbox_deliveries (sink, next_attempt_at) WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_deliveries_dead ON outbox_deliveries (dead_at) WHERE dead_at IS NOT NULL;

-- +goose Down
DROP TABLE outbox_deliveries;
