-- Compact assessments (issue 15): an assessment stores what it decided as a small record
-- (`assessments.record`, see src/risk/record.rs) instead of its explanation as JSON; the
-- explanation is rebuilt on read with the plan of its rule-set version (`rule_sets.plan`)
-- and the texts that repeat across assessments (`assessment_texts`: reasons, register
-- names and load times), each stored once. Assessments stored before keep their JSON in
-- `explanation` (and a NULL record); new ones store an empty `explanation`.
CREATE TABLE assessment_texts (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL UNIQUE
);
ALTER TABLE assessments ADD COLUMN record BLOB;
ALTER TABLE rule_sets ADD COLUMN plan TEXT;

-- An import scores its contracts as it stores them (issue 15): their assessments go into
-- the history at once (hidden until the batch is done: a new contract is not shown, and a
-- changed one's history leaves out what is staged here), and the risk index rows wait here
-- until the batch's final transaction moves them into contract_risk. A batch that fails is
-- removed with its staged assessments.
CREATE TABLE import_staged_risk (
    batch_id BIGINT NOT NULL REFERENCES import_batches(id),
    contract_id BIGINT NOT NULL,
    assessment_id BIGINT NOT NULL,
    score INTEGER NOT NULL,
    max_possible_score INTEGER NOT NULL,
    tier TEXT NOT NULL,
    industries TEXT NOT NULL,
    rule_set_version TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    result_sha256 TEXT,
    assessed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (batch_id, contract_id)
);
CREATE INDEX import_staged_risk_contract ON import_staged_risk(contract_id);
