-- Fails if two users have imported the same file since: the old rule allowed one batch per file.
CREATE INDEX import_batches_uploader ON import_batches(uploader_id);
ALTER TABLE import_batches DROP CONSTRAINT import_batches_uploader_sha256_key;
ALTER TABLE import_batches ADD CONSTRAINT import_batches_sha256_key UNIQUE (sha256);
DROP INDEX contracts_owner;
ALTER TABLE contracts DROP COLUMN owner_user_id;
