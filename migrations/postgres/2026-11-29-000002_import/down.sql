DROP TABLE import_mappings;
DROP TABLE contract_versions;
DROP TABLE contracts;
DROP TABLE suppliers;
DROP TABLE import_errors;
DROP TABLE import_batches;
