-- The risk index without foreign keys and without the input hash (issue 15). contract_risk
-- (and import_staged_risk, its rows waiting for a batch's final transaction) is an index
-- over the assessment history, never the record: the code writes it in the same transaction
-- as the assessment it points at and removes it before the contract it belongs to (the only
-- contract deletion is a failed batch's, `discard_staged_risk` first). Its foreign keys
-- checked that for every stored row, two lookups per imported contract, about a tenth of a
-- 100,000-row import on PostgreSQL. The input hash is the assessment's own
-- (`assessments.input_sha256`, read through `assessment_id`); the rule-set version and the
-- result hash stay, for the lists and for telling whether a new assessment says anything new.
-- On SQLite the table is rebuilt (no ALTER for either), with its key as the rowid: one
-- B-tree per row instead of two.
CREATE TABLE contract_risk_lean (
    contract_id INTEGER PRIMARY KEY,
    assessment_id BIGINT NOT NULL,
    score INTEGER NOT NULL,
    max_possible_score INTEGER NOT NULL,
    tier TEXT NOT NULL,
    industries TEXT NOT NULL,
    rule_set_version TEXT NOT NULL,
    result_sha256 TEXT,
    assessed_at TIMESTAMP NOT NULL
);
INSERT INTO contract_risk_lean
    SELECT contract_id, assessment_id, score, max_possible_score, tier, industries,
           rule_set_version, result_sha256, assessed_at
    FROM contract_risk;
DROP TABLE contract_risk;
ALTER TABLE contract_risk_lean RENAME TO contract_risk;
CREATE INDEX contract_risk_order ON contract_risk(score, contract_id);

CREATE TABLE import_staged_risk_lean (
    batch_id BIGINT NOT NULL,
    contract_id BIGINT NOT NULL,
    assessment_id BIGINT NOT NULL,
    score INTEGER NOT NULL,
    max_possible_score INTEGER NOT NULL,
    tier TEXT NOT NULL,
    industries TEXT NOT NULL,
    rule_set_version TEXT NOT NULL,
    result_sha256 TEXT,
    assessed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (batch_id, contract_id)
);
INSERT INTO import_staged_risk_lean
    SELECT batch_id, contract_id, assessment_id, score, max_possible_score, tier, industries,
           rule_set_version, result_sha256, assessed_at
    FROM import_staged_risk;
DROP TABLE import_staged_risk;
ALTER TABLE import_staged_risk_lean RENAME TO import_staged_risk;
CREATE INDEX import_staged_risk_contract ON import_staged_risk(contract_id);
