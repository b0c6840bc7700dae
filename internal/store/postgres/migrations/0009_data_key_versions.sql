-- +goose Up
-- Data keys get versions (docs/keys.md, "Rotating data keys"): a rotation
-- adds the next version of a purpose, new values are sealed with the newest
-- active version, and older versions are retired once no value refers to
-- them. Retired keys stay so that backups remain readable. The key that
-- existed before is version 1: field ciphertexts of layout 1 name no key
-- and are read with it. The defaults only fill the existing rows.
ALTER TABLE data_keys ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1);
ALTER TABLE data_keys ADD COLUMN state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired'));
ALTER TABLE data_keys ADD COLUMN retired_at BIGINT;
ALTER TABLE data_keys ALTER COLUMN version DROP DEFAULT;
ALTER TABLE data_keys ALTER COLUMN state DROP DEFAULT;
ALTER TABLE data_keys DROP CONSTRAINT data_keys_pkey;
ALTER TABLE data_keys ADD PRIMARY KEY (purpose, version);

-- +goose Down
-- Going back fails, on the primary key, while a purpose has more than one
-- data key: dropping one would make the values sealed with it unreadable.
-- Values sealed in layout 2 are unreadable to the older binary in any case.
ALTER TABLE data_keys DROP CONSTRAINT data_keys_pkey;
ALTER TABLE data_keys ADD PRIMARY KEY (purpose);
ALTER TABLE data_keys DROP COLUMN retired_at;
ALTER TABLE data_keys DROP COLUMN state;
ALTER TABLE data_keys DROP COLUMN version;
