-- Back to the risk index with its foreign keys and the input hash (copied from the
-- assessments it points at).
ALTER TABLE contract_risk ADD COLUMN input_sha256 TEXT;
UPDATE contract_risk r SET input_sha256 = a.input_sha256 FROM assessments a WHERE a.id = r.assessment_id;
ALTER TABLE contract_risk ALTER COLUMN input_sha256 SET NOT NULL;
ALTER TABLE contract_risk ADD CONSTRAINT contract_risk_contract_id_fkey
    FOREIGN KEY (contract_id) REFERENCES contracts(id);
ALTER TABLE contract_risk ADD CONSTRAINT contract_risk_assessment_id_fkey
    FOREIGN KEY (assessment_id) REFERENCES assessments(id);
ALTER TABLE import_staged_risk ADD COLUMN input_sha256 TEXT;
UPDATE import_staged_risk s SET input_sha256 = a.input_sha256 FROM assessments a WHERE a.id = s.assessment_id;
ALTER TABLE import_staged_risk ALTER COLUMN input_sha256 SET NOT NULL;
ALTER TABLE import_staged_risk ADD CONSTRAINT import_staged_risk_batch_id_fkey
    FOREIGN KEY (batch_id) REFERENCES import_batches(id);
