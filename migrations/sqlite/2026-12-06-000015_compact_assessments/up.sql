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
