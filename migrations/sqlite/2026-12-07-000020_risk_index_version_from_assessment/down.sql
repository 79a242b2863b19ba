-- The rule-set version back in the risk index, copied from the assessments it points at
-- (tables rebuilt as migration 000017 made them, so the column is NOT NULL again).
CREATE TABLE contract_risk_versioned (
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
INSERT INTO contract_risk_versioned
    SELECT r.contract_id, r.assessment_id, r.score, r.max_possible_score, r.tier, r.industries,
           a.rule_set_version, r.result_sha256, r.assessed_at
    FROM contract_risk r JOIN assessments a ON a.id = r.assessment_id;
DROP TABLE contract_risk;
ALTER TABLE contract_risk_versioned RENAME TO contract_risk;
CREATE INDEX contract_risk_order ON contract_risk(score, contract_id);

CREATE TABLE import_staged_risk_versioned (
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
INSERT INTO import_staged_risk_versioned
    SELECT s.batch_id, s.contract_id, s.assessment_id, s.score, s.max_possible_score, s.tier,
           s.industries, a.rule_set_version, s.result_sha256, s.assessed_at
    FROM import_staged_risk s JOIN assessments a ON a.id = s.assessment_id;
DROP TABLE import_staged_risk;
ALTER TABLE import_staged_risk_versioned RENAME TO import_staged_risk;
CREATE INDEX import_staged_risk_contract ON import_staged_risk(contract_id);
