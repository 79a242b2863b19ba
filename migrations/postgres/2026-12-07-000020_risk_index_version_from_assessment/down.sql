-- The rule-set version back in the risk index, copied from the assessments it points at.
ALTER TABLE contract_risk ADD COLUMN rule_set_version TEXT;
UPDATE contract_risk r SET rule_set_version = a.rule_set_version FROM assessments a WHERE a.id = r.assessment_id;
ALTER TABLE contract_risk ALTER COLUMN rule_set_version SET NOT NULL;
ALTER TABLE import_staged_risk ADD COLUMN rule_set_version TEXT;
UPDATE import_staged_risk s SET rule_set_version = a.rule_set_version FROM assessments a WHERE a.id = s.assessment_id;
ALTER TABLE import_staged_risk ALTER COLUMN rule_set_version SET NOT NULL;
