-- Contracts belong to their owner (issue 16): the user whose import first brought the
-- contract in, until Kemneren moves it (audited). Existing contracts get the uploader of the
-- batch that created them. An innkjøper's import creates and updates only their own
-- contracts, and reads are limited to them (see `domain::ownership`).
ALTER TABLE contracts ADD COLUMN owner_user_id BIGINT REFERENCES users(id);
UPDATE contracts SET owner_user_id = import_batches.uploader_id
    FROM import_batches WHERE import_batches.id = contracts.first_batch_id;
ALTER TABLE contracts ALTER COLUMN owner_user_id SET NOT NULL;
CREATE INDEX contracts_owner ON contracts(owner_user_id);

-- A file is recognised as already imported per uploader, not across all users: the same
-- bytes from someone else are that person's import, judged on their own. The unique pair
-- also serves look-ups by uploader, so the index on uploader_id alone goes.
ALTER TABLE import_batches DROP CONSTRAINT import_batches_sha256_key;
ALTER TABLE import_batches ADD CONSTRAINT import_batches_uploader_sha256_key UNIQUE (uploader_id, sha256);
DROP INDEX import_batches_uploader;
