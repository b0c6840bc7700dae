-- +goose Up
-- A holder's grant names the using unit's matter by its code (docs/holders.md);
-- before, it named the matter as free text, and a use matched the matter's code
-- or its name. A grant naming the name of one of its unit's approved matters
-- now names that matter's code (the lowest code if two share the name), so it
-- keeps letting the unit see what it did. Any other free text stays as it was:
-- listed and withdrawable, matched by no use. The audit entry of the grant
-- keeps the text the holder gave.
UPDATE license_grants SET matter = (
    SELECT MIN(v.code) FROM use_matter_versions v
    WHERE v.org = license_grants.org AND v.name = license_grants.matter AND v.state = 'approved')
WHERE NOT EXISTS (SELECT 1 FROM use_matters m WHERE m.org = license_grants.org AND m.code = license_grants.matter)
  AND EXISTS (SELECT 1 FROM use_matter_versions v
    WHERE v.org = license_grants.org AND v.name = license_grants.matter AND v.state = 'approved');

-- +goose Down
-- The free text a grant named is in its audit entry; nothing is undone here.
SELECT 1;
