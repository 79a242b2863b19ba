DROP INDEX contracts_end_date_order;
DROP INDEX contracts_supplier_order;
DROP INDEX contracts_value_order;
CREATE INDEX contract_risk_score ON contract_risk(score);
DROP INDEX contract_risk_order;
