-- The risk index without foreign keys and without the input hash (issue 15). contract_risk
-- (and import_staged_risk, its rows waiting for a batch's final transaction) is an index
-- over the assessment history, never the record: the code writes it in the same transaction
-- as the assessment it points at and removes it before the contract it belongs to (the only
-- contract deletion is a failed batch's, `discard_staged_risk` first). Its foreign keys
-- checked that for every stored row, two trigger lookups per imported contract: about a
-- tenth of a 100,000-row import here (7.4 s against 6.5 s, alternating runs). The input hash
-- is the assessment's own (`assessments.input_sha256`, read through `assessment_id`); the
-- rule-set version and the result hash stay, for the lists and for telling whether a new
-- assessment says anything new.
ALTER TABLE contract_risk DROP CONSTRAINT contract_risk_contract_id_fkey;
ALTER TABLE contract_risk DROP CONSTRAINT contract_risk_assessment_id_fkey;
ALTER TABLE contract_risk DROP COLUMN input_sha256;
ALTER TABLE import_staged_risk DROP CONSTRAINT import_staged_risk_batch_id_fkey;
ALTER TABLE import_staged_risk DROP COLUMN input_sha256;
