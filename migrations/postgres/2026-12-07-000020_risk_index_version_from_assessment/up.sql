-- The risk index without the rule-set version (issue 15): every row of `contract_risk` (and
-- of `import_staged_risk`) carried the 64-character version of the rule set that made the
-- assessment it points at, which that assessment names already (`assessments`, read
-- through `assessment_id`, as the input hash since migration 000017). About 65 of an
-- imported contract's stored bytes. The lists, the case page and the draws read it from the
-- assessment now.
ALTER TABLE contract_risk DROP COLUMN rule_set_version;
ALTER TABLE import_staged_risk DROP COLUMN rule_set_version;
