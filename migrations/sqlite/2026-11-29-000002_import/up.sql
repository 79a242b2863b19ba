-- Contract registers: import batches with their row errors, suppliers by org number,
-- contracts with a version per import that changed them (history is never overwritten).

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
CREATE INDEX import_batches_uploader ON import_batches(uploader_id);

CREATE TABLE import_errors (
    id INTEGER PRIMARY KEY,
    batch_id BIGINT NOT NULL REFERENCES import_batches(id),
    sheet TEXT NOT NULL,
    row_number BIGINT NOT NULL,
    column_name TEXT NOT NULL,
    raw_value TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX import_errors_batch ON import_errors(batch_id);

CREATE TABLE suppliers (
    id INTEGER PRIMARY KEY,
    orgnr TEXT NOT NULL UNIQUE CHECK (length(orgnr) = 9),
    name TEXT NOT NULL,
    first_batch_id BIGINT NOT NULL REFERENCES import_batches(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

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
CREATE INDEX contracts_supplier ON contracts(supplier_id);

CREATE TABLE contract_versions (
    id INTEGER PRIMARY KEY,
    contract_id BIGINT NOT NULL REFERENCES contracts(id),
    version INTEGER NOT NULL,
    batch_id BIGINT NOT NULL REFERENCES import_batches(id),
    row_number BIGINT NOT NULL,
    data TEXT NOT NULL,
    data_sha256 TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (contract_id, version)
);
CREATE INDEX contract_versions_batch ON contract_versions(batch_id);

-- The column mapping an uploader last gave by hand, tried when detection finds no table.
CREATE TABLE import_mappings (
    user_id BIGINT PRIMARY KEY REFERENCES users(id),
    mapping TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
