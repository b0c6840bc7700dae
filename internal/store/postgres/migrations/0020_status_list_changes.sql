-- +goose Up
-- The change counter of a status list (docs/status-lists.md, "Storage"),
-- split over shards. status_lists.changes was one row that every change of
-- any bit of a list rewrote, so all changes of state of one issuer's
-- licenses contended on it (under PostgreSQL SERIALIZABLE each pair of
-- concurrent changes cost one of them a retry). A change now adds 1 to the
-- shard of its index (index modulo the shard count, internal/store/
-- status.go), so changes of different licenses rarely touch one row, and
-- the list's counter is the sum of its shards: it still grows by exactly
-- one with every committed change, which is all that publishing needs.
CREATE TABLE status_list_changes (
    list_id BIGINT NOT NULL REFERENCES status_lists (id),
    shard   INTEGER NOT NULL CHECK (shard >= 0),
    changes BIGINT NOT NULL CHECK (changes >= 0),
    PRIMARY KEY (list_id, shard)
);
INSERT INTO status_list_changes (list_id, shard, changes)
    SELECT id, 0, changes FROM status_lists WHERE changes > 0;
ALTER TABLE status_lists DROP COLUMN changes;

-- +goose Down
ALTER TABLE status_lists ADD COLUMN changes BIGINT NOT NULL DEFAULT 0;
UPDATE status_lists SET changes = COALESCE((SELECT SUM(c.changes) FROM status_list_changes c WHERE c.list_id = status_lists.id), 0);
DROP TABLE status_list_changes;
