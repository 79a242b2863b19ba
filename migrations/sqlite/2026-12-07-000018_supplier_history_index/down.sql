DROP INDEX assessments_supplier;
CREATE INDEX assessments_orgnr ON assessments(orgnr, id);
