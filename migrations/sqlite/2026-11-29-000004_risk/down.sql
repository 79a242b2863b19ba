DROP TABLE supplier_risk;
DROP TABLE contract_risk;
DROP TABLE assessments;
DROP TABLE rule_set_activations;
DROP TABLE rule_sets;
