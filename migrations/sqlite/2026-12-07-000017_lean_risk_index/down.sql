-- Back to the risk index with its foreign keys and the input hash (copied from the
-- assessments it points at).
CREATE TABLE contract_risk_full (
    contract_id BIGINT PRIMARY KEY REFERENCES contracts(id),
    assessment_id BIGINT NOT NULL REFERENCES assessments(id),
    score INTEGER NOT NULL,
    max_possible_score INTEGER NOT NULL,
    tier TEXT NOT NULL,
    industries TEXT NOT NULL,
    rule_set_version TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    result_sha256 TEXT,
    assessed_at TIMESTAMP NOT NULL
);
INSERT INTO contract_risk_full
    SELECT r.contract_id, r.assessment_id, r.score, r.max_possible_score, r.tier, r.industries,
           r.rule_set_version, a.input_sha256, r.result_sha256, r.assessed_at
    FROM contract_risk r JOIN assessments a ON a.id = r.assessment_id;
DROP TABLE contract_risk;
ALTER TABLE contract_risk_full RENAME TO contract_risk;
CREATE INDEX contract_risk_order ON contract_risk(score, contract_id);

CREATE TABLE import_staged_risk_full (
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
INSERT INTO import_staged_risk_full
    SELECT s.batch_id, s.contract_id, s.assessment_id, s.score, s.max_possible_score, s.tier,
           s.industries, s.rule_set_version, a.input_sha256, s.result_sha256, s.assessed_at
    FROM import_staged_risk s JOIN assessments a ON a.id = s.assessment_id;
DROP TABLE import_staged_risk;
ALTER TABLE import_staged_risk_full RENAME TO import_staged_risk;
CREATE INDEX import_staged_risk_contract ON import_staged_risk(contract_id);
