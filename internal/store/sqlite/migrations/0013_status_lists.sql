-- +goose Up
-- Status lists (docs/status-lists.md). A list is a set of indices of one
-- issuer; each purpose of the list is a bitstring over those indices,
-- published as its own credential.
--
-- Nothing here is a row that every issuance rewrites: an index is claimed
-- by inserting its own row (the unique key settles races between
-- processes), a set bit is a row of its own, and the bitstring is built
-- from those rows when the list is published. `used` is an estimate kept
-- by sampling (see internal/store/status.go), and `changes` counts changes
-- of bits, which are rare administrative acts, so that a published list
-- can be cached until it changes.
CREATE TABLE status_lists (
    id         INTEGER PRIMARY KEY,
    issuer     TEXT NOT NULL,
    purposes   TEXT NOT NULL,
    number     INTEGER NOT NULL CHECK (number >= 1),
    size       INTEGER NOT NULL CHECK (size >= 131072 AND size % 8 = 0),
    used       INTEGER NOT NULL DEFAULT 0,
    changes    BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (issuer, purposes, number)
);

-- One row per index handed out; indices are never reused.
CREATE TABLE status_claims (
    list_id BIGINT NOT NULL REFERENCES status_lists (id),
    idx     INTEGER NOT NULL CHECK (idx >= 0),
    PRIMARY KEY (list_id, idx)
);

-- One row per set bit.
CREATE TABLE status_bits (
    list_id BIGINT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('revocation', 'suspension')),
    idx     INTEGER NOT NULL,
    set_at  BIGINT NOT NULL,
    PRIMARY KEY (list_id, purpose, idx),
    FOREIGN KEY (list_id, idx) REFERENCES status_claims (list_id, idx)
);
CREATE INDEX status_bits_slot ON status_bits (list_id, idx);

-- +goose Down
DROP TABLE status_bits;
DROP TABLE status_claims;
DROP TABLE status_lists;
