-- The rebuild of up.sql in reverse (see there). Fails if two users have imported the same
-- file since: the old rule allowed one batch per file.
PRAGMA defer_foreign_keys = ON;

CREATE INDEX rebuild_suppliers_first_batch ON suppliers(first_batch_id);

CREATE TEMP TABLE contracts_kept AS SELECT * FROM contracts;
CREATE TEMP TABLE import_batches_kept AS SELECT * FROM import_batches;

DROP TABLE contracts;
DROP TABLE import_batches;

CREATE TABLE import_batches (
    id INTEGER PRIMARY KEY,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
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
    suppliers_created BIGINT NOT NULL
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
CREATE INDEX import_batches_uploader ON import_batches(uploader_id);

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
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO contracts (
    id, contract_no, title, supplier_id, supplier_name, orgnr, category, cpv, value_ore,
    start_date, end_date, unit, contract_manager, subcontractor_levels, extras, version,
    data_sha256, first_batch_id, last_batch_id, created_at, updated_at
)
SELECT
    id, contract_no, title, supplier_id, supplier_name, orgnr, category, cpv, value_ore,
    start_date, end_date, unit, contract_manager, subcontractor_levels, extras, version,
    data_sha256, first_batch_id, last_batch_id, created_at, updated_at
FROM contracts_kept ORDER BY id;
CREATE INDEX contracts_supplier ON contracts(supplier_id);

DROP TABLE contracts_kept;
DROP TABLE import_batches_kept;
DROP INDEX rebuild_suppliers_first_batch;
