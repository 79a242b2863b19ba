-- Every version with its own JSON again: a current version's is rebuilt from its contract
-- row in the form the import wrote it (serde_json's compact form: keys in field order,
-- `extras` as [name, value] pairs in the row's order, which `extras`' sorted keys are when
-- the import left `data` out).
UPDATE contract_versions v SET data = (
    SELECT '{"contract_no":' || to_json(c.contract_no)::text
        || ',"title":' || COALESCE(to_json(c.title)::text, 'null')
        || ',"supplier_name":' || to_json(c.supplier_name)::text
        || ',"orgnr":' || to_json(c.orgnr)::text
        || ',"category":' || COALESCE(to_json(c.category)::text, 'null')
        || ',"cpv":' || COALESCE(to_json(c.cpv)::text, 'null')
        || ',"value_ore":' || COALESCE(c.value_ore::text, 'null')
        || ',"start_date":' || COALESCE(to_json(c.start_date)::text, 'null')
        || ',"end_date":' || COALESCE(to_json(c.end_date)::text, 'null')
        || ',"unit":' || COALESCE(to_json(c.unit)::text, 'null')
        || ',"contract_manager":' || COALESCE(to_json(c.contract_manager)::text, 'null')
        || ',"subcontractor_levels":' || COALESCE(c.subcontractor_levels::text, 'null')
        || ',"extras":[' || COALESCE((
            SELECT string_agg('[' || to_json(e.key)::text || ',' || to_json(e.value)::text || ']', ','
                ORDER BY e.key COLLATE "C")
            FROM json_each_text(c.extras::json) e), '') || ']}'
    FROM contracts c WHERE c.id = v.contract_id),
    data_sha256 = (SELECT c.data_sha256 FROM contracts c WHERE c.id = v.contract_id)
WHERE data IS NULL;
ALTER TABLE contract_versions ALTER COLUMN data SET NOT NULL;
ALTER TABLE contract_versions ALTER COLUMN data_sha256 SET NOT NULL;
