-- Lists that stay fast as the data grows (issue 15, item 6). Each sort of the contract list
-- reads one of these indexes in order and stops after the page, instead of sorting every
-- matching row; each ends with the id that breaks ties, so a keyset cursor (the last row
-- seen) seeks straight to its place at any depth. See `db::models::contracts::list`.
--
-- Score (highest first, ties newest first): the list reads contract_risk in this order
-- (backwards) and the unscored contracts after it. It also serves every range on the score,
-- so it replaces the index on the score alone.
CREATE INDEX contract_risk_order ON contract_risk(score, contract_id);
DROP INDEX IF EXISTS contract_risk_score;
-- Value (highest first, read backwards), supplier name, end date (soonest first); ties by
-- id in the sort's direction, so a cursor is one row value (`(key, id) < (?, ?)`) that the
-- index seeks to however many rows share the key. The contracts without a
-- value or an end date follow by id (an equality on NULL in the same index).
CREATE INDEX contracts_value_order ON contracts(value_ore, id);
CREATE INDEX contracts_supplier_order ON contracts(supplier_name, id);
CREATE INDEX contracts_end_date_order ON contracts(end_date, id);
-- Contract number: the UNIQUE index of contracts.contract_no. A supplier's org number goes
-- through suppliers.orgnr (UNIQUE) to contracts_supplier.
