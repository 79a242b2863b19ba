CREATE INDEX contract_risk_score ON contract_risk(score);
DROP INDEX contract_risk_order;
