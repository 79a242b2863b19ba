DROP TABLE import_staged_updates;
DROP INDEX import_batches_one_staging;
ALTER TABLE import_batches DROP COLUMN heartbeat_at;
ALTER TABLE import_batches DROP COLUMN state;
DROP INDEX contracts_first_batch;
