-- Contracts belong to their owner (issue 16): the user whose import first brought the
-- contract in, until Kemneren moves it (audited). Existing contracts get the uploader of the
-- batch that created them. An innkjøper's import creates and updates only their own
-- contracts, and reads are limited to them (see `domain::ownership`).
--
-- A file is recognised as already imported per uploader, not across all users: the same
-- bytes from someone else are that person's import, judged on their own.
--
-- SQLite can neither add a NOT NULL column that references another table nor drop a
-- column's UNIQUE, so both tables are rebuilt. The migration runs in a transaction with
-- foreign keys on, where they cannot be switched off; instead they are checked at commit
-- (defer_foreign_keys, reset when the transaction ends): dropping a table counts the rows
-- that referred to it as violations, and putting the same ids back into the new table
-- counts them off again, so the commit fails if any reference was lost.
PRAGMA defer_foreign_keys = ON;

-- Putting a batch back looks up the rows that refer to it; suppliers.first_batch_id has no
-- index of its own, so one is lent for the rebuild. (The other referring columns are indexed,
-- and contracts is put back after the batches.)
CREATE INDEX rebuild_suppliers_first_batch ON suppliers(first_batch_id);

CREATE TEMP TABLE contracts_kept AS
    SELECT contracts.*, import_batches.uploader_id AS owner_user_id
    FROM contracts JOIN import_batches ON import_batches.id = contracts.first_batch_id;
CREATE TEMP TABLE import_batches_kept AS SELECT * FROM import_batches;

DROP TABLE contracts;
DROP TABLE import_batches;

CREATE TABLE import_batches (
    id INTEGER PRIMARY KEY,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    format TEXT NOT NULL,
    sheet TEXT NOT NULL,
    header_row INTEGER NOT NULL,
    mapping TEXT NOT NULL,
    uploader_id BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    rows_total BIGINT NOT NULL,
    rows_imported BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    contracts_created BIGINT NOT NULL,
    contracts_updated BIGINT NOT NULL,
    contracts_unchanged BIGINT NOT NULL,
    suppliers_created BIGINT NOT NULL,
    -- Also serves look-ups by uploader.
    UNIQUE (uploader_id, sha256)
);
INSERT INTO import_batches (
    id, file_name, sha256, size_bytes, format, sheet, header_row, mapping, uploader_id,
    created_at, rows_total, rows_imported, rows_rejected, contracts_created, contracts_updated,
    contracts_unchanged, suppliers_created
)
SELECT
    id, file_name, sha256, size_bytes, format, sheet, header_row, mapping, uploader_id,
    created_at, rows_total, rows_imported, rows_rejected, contracts_created, contracts_updated,
    contracts_unchanged, suppliers_created
FROM import_batches_kept ORDER BY id;

CREATE TABLE contracts (
    id INTEGER PRIMARY KEY,
    contract_no TEXT NOT NULL UNIQUE,
    title TEXT,
    supplier_id BIGINT NOT NULL REFERENCES suppliers(id),
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
    version INTEGER NOT NULL,
    data_sha256 TEXT NOT NULL,
    first_batch_id BIGINT NOT NULL REFERENCES import_batches(id),
    last_batch_id BIGINT NOT NULL REFERENCES import_batches(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    owner_user_id BIGINT NOT NULL REFERENCES users(id)
);
INSERT INTO contracts (
    id, contract_no, title, supplier_id, supplier_name, orgnr, category, cpv, value_ore,
    start_date, end_date, unit, contract_manager, subcontractor_levels, extras, version,
    data_sha256, first_batch_id, last_batch_id, created_at, updated_at, owner_user_id
)
SELECT
    id, contract_no, title, supplier_id, supplier_name, orgnr, category, cpv, value_ore,
    start_date, end_date, unit, contract_manager, subcontractor_levels, extras, version,
    data_sha256, first_batch_id, last_batch_id, created_at, updated_at, owner_user_id
FROM contracts_kept ORDER BY id;
CREATE INDEX contracts_supplier ON contracts(supplier_id);
CREATE INDEX contracts_owner ON contracts(owner_user_id);

DROP TABLE contracts_kept;
DROP TABLE import_batches_kept;
DROP INDEX rebuild_suppliers_first_batch;
