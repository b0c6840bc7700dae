-- +goose Up
-- Settings of the platform that every process must agree on, whoever
-- starts it: today the public base URL below which status lists are
-- published and that signed licenses name (docs/status-lists.md).
CREATE TABLE platform_settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE platform_settings;
