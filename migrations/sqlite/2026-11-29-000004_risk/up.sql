-- Risk: every rule set that was ever in force (with its files, so any score can be
-- recomputed later), when each was activated and by whom, an append-only history of
-- assessments, and the latest assessment per contract and per supplier for sorting and
-- filtering (contract_risk / supplier_risk are an index over the history, never the record).

CREATE TABLE rule_sets (
    id INTEGER PRIMARY KEY,
    version TEXT NOT NULL UNIQUE,
    files TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE rule_set_activations (
    id INTEGER PRIMARY KEY,
    version TEXT NOT NULL REFERENCES rule_sets(version),
    activated_by TEXT NOT NULL,
    activated_at TIMESTAMP NOT NULL
);

CREATE TABLE assessments (
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL CHECK (subject IN ('contract', 'supplier')),
    contract_id BIGINT REFERENCES contracts(id),
    contract_version INTEGER,
    orgnr TEXT NOT NULL,
    rule_set_version TEXT NOT NULL REFERENCES rule_sets(version),
    input_sha256 TEXT NOT NULL,
    facts_id BIGINT,
    parent_facts_id BIGINT,
    facts_fetched_at TIMESTAMP,
    as_of DATE NOT NULL,
    score INTEGER NOT NULL,
    max_possible_score INTEGER NOT NULL,
    tier TEXT NOT NULL,
    industries TEXT NOT NULL,
    explanation TEXT NOT NULL,
    reason TEXT NOT NULL,
    assessed_at TIMESTAMP NOT NULL
);
CREATE INDEX assessments_contract ON assessments(contract_id, id);
CREATE INDEX assessments_orgnr ON assessments(orgnr, id);

CREATE TABLE contract_risk (
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
CREATE INDEX contract_risk_score ON contract_risk(score);

CREATE TABLE supplier_risk (
    orgnr TEXT PRIMARY KEY CHECK (length(orgnr) = 9),
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
