-- Every version with its own JSON again: a current version's is rebuilt from its contract
-- row in the form the import wrote it (keys in field order, `extras` as [name, value] pairs
-- in the row's order, which `extras`' sorted keys are when the import left `data` out).
CREATE TABLE contract_versions_old (
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
INSERT INTO contract_versions_old (id, contract_id, version, batch_id, row_number, data, data_sha256, created_at)
    SELECT v.id, v.contract_id, v.version, v.batch_id, v.row_number,
        COALESCE(v.data, (
            SELECT json_object(
                'contract_no', c.contract_no, 'title', c.title, 'supplier_name', c.supplier_name,
                'orgnr', c.orgnr, 'category', c.category, 'cpv', c.cpv, 'value_ore', c.value_ore,
                'start_date', c.start_date, 'end_date', c.end_date, 'unit', c.unit,
                'contract_manager', c.contract_manager,
                'subcontractor_levels', c.subcontractor_levels,
                'extras', (SELECT json_group_array(json_array(e.key, e.value)) FROM json_each(c.extras) e))
            FROM contracts c WHERE c.id = v.contract_id)),
        COALESCE(v.data_sha256, (SELECT c.data_sha256 FROM contracts c WHERE c.id = v.contract_id)),
        v.created_at
    FROM contract_versions v ORDER BY v.id;
DROP TABLE contract_versions;
ALTER TABLE contract_versions_old RENAME TO contract_versions;
CREATE INDEX contract_versions_batch ON contract_versions(batch_id);
