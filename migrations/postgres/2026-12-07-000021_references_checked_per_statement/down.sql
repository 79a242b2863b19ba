-- Back to a foreign key per reference (checked per row).
DROP TRIGGER contracts_parents_on_insert ON contracts;
DROP TRIGGER contracts_parents_on_update ON contracts;
DROP TRIGGER contract_versions_parents_on_insert ON contract_versions;
DROP TRIGGER contract_versions_parents_on_update ON contract_versions;
DROP TRIGGER assessments_parents_on_insert ON assessments;
DROP TRIGGER assessments_parents_on_update ON assessments;
DROP TRIGGER suppliers_children_on_delete ON suppliers;
DROP TRIGGER suppliers_children_on_update ON suppliers;
DROP TRIGGER import_batches_children_on_delete ON import_batches;
DROP TRIGGER import_batches_children_on_update ON import_batches;
DROP TRIGGER users_children_on_delete ON users;
DROP TRIGGER users_children_on_update ON users;
DROP TRIGGER contracts_children_on_delete ON contracts;
DROP TRIGGER contracts_children_on_update ON contracts;
DROP TRIGGER rule_sets_children_on_delete ON rule_sets;
DROP TRIGGER rule_sets_children_on_update ON rule_sets;
DROP FUNCTION spotcheck_check_parents();
DROP FUNCTION spotcheck_check_children();

ALTER TABLE contracts
    ADD CONSTRAINT contracts_supplier_id_fkey FOREIGN KEY (supplier_id) REFERENCES suppliers(id),
    ADD CONSTRAINT contracts_first_batch_id_fkey FOREIGN KEY (first_batch_id) REFERENCES import_batches(id),
    ADD CONSTRAINT contracts_last_batch_id_fkey FOREIGN KEY (last_batch_id) REFERENCES import_batches(id),
    ADD CONSTRAINT contracts_owner_user_id_fkey FOREIGN KEY (owner_user_id) REFERENCES users(id);
ALTER TABLE contract_versions
    ADD CONSTRAINT contract_versions_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts(id),
    ADD CONSTRAINT contract_versions_batch_id_fkey FOREIGN KEY (batch_id) REFERENCES import_batches(id);
ALTER TABLE assessments
    ADD CONSTRAINT assessments_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts(id),
    ADD CONSTRAINT assessments_rule_set_version_fkey FOREIGN KEY (rule_set_version) REFERENCES rule_sets(version);
