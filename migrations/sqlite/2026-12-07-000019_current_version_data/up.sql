-- A contract's current version keeps its data in the contract's own row (issue 15). Each
-- `contract_versions` row held the register row's JSON, and for the current version that is
-- the very fields the `contracts` row holds: 414 of the 1,458 bytes an imported contract stored.
-- Now `data` and `data_sha256` are NULL while the version is current and the contract row
-- can say it (its `extras` in file order): the row has the fields and the same hash. Before
-- a later batch changes the contract, its final transaction writes the version's JSON and
-- hash into the version's row (`imports::apply_staged_updates`), so a superseded version
-- always has its own. `imports::version_data` reads either and checks the hash. Rows stored
-- before keep theirs. SQLite cannot drop NOT NULL in place: the table is rebuilt.
CREATE TABLE contract_versions_new (
    id INTEGER PRIMARY KEY,
    contract_id BIGINT NOT NULL REFERENCES contracts(id),
    version INTEGER NOT NULL,
    batch_id BIGINT NOT NULL REFERENCES import_batches(id),
    row_number BIGINT NOT NULL,
    data TEXT,
    data_sha256 TEXT,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (contract_id, version)
);
INSERT INTO contract_versions_new (id, contract_id, version, batch_id, row_number, data, data_sha256, created_at)
    SELECT id, contract_id, version, batch_id, row_number, data, data_sha256, created_at
    FROM contract_versions ORDER BY id;
DROP TABLE contract_versions;
ALTER TABLE contract_versions_new RENAME TO contract_versions;
CREATE INDEX contract_versions_batch ON contract_versions(batch_id);
