DROP TABLE import_staged_risk;
ALTER TABLE rule_sets DROP COLUMN plan;
ALTER TABLE assessments DROP COLUMN record;
DROP TABLE assessment_texts;
