-- An import is stored in chunks, each its own short transaction, so other writers (a
-- sign-in, a note, a draw) get their turn during a large import; what the batch brings
-- stays invisible until its final step:
-- - new contracts are written at once, but every read leaves out the contracts whose
--   `first_batch_id` is a batch still 'staging' (so the final step flips one row, not one
--   per contract);
-- - changes to stored contracts wait in `import_staged_updates` and are applied in the
--   final step, with the batch's `state` set to 'done';
-- - one batch at a time is 'staging' (the partial unique index); `heartbeat_at` is touched
--   every two seconds and with every chunk, so a batch whose importer died (a crash, a killed process) is found
--   by its stale heartbeat and removed whole, at start-up or by the next import.
CREATE INDEX contracts_first_batch ON contracts(first_batch_id);
ALTER TABLE import_batches ADD COLUMN state TEXT NOT NULL DEFAULT 'done' CHECK (state IN ('staging', 'done'));
ALTER TABLE import_batches ADD COLUMN heartbeat_at TIMESTAMP;
CREATE UNIQUE INDEX import_batches_one_staging ON import_batches(state) WHERE state = 'staging';
CREATE TABLE import_staged_updates (
    batch_id BIGINT NOT NULL REFERENCES import_batches(id),
    contract_id BIGINT NOT NULL REFERENCES contracts(id),
    base_version INTEGER NOT NULL,
    row_number BIGINT NOT NULL,
    title TEXT,
    supplier_id BIGINT NOT NULL,
    supplier_name TEXT NOT NULL,
    orgnr TEXT NOT NULL,
    category TEXT,
    cpv TEXT,
    value_ore BIGINT,
    start_date DATE,
    end_date DATE,
    unit TEXT,
    contract_manager TEXT,
    subcontractor_levels INTEGER,
    extras TEXT NOT NULL,
    data TEXT NOT NULL,
    data_sha256 TEXT NOT NULL,
    PRIMARY KEY (batch_id, contract_id)
);
