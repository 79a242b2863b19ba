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
-- Value, supplier name and end date have no index of their own: each would serve one sort
-- that people choose now and then, and together they doubled the time an import takes to
-- store its rows (3.4 s against 1.4 s for bench/compare.sh's 100,000-row register, issue
-- 15's first target). Those sorts read the
-- matching rows and keep the page's worth (SQLite's and PostgreSQL's top-N sort); their
-- cursors are row values as for the other sorts.
-- Contract number: the UNIQUE index of contracts.contract_no. A supplier's org number goes
-- through suppliers.orgnr (UNIQUE) to contracts_supplier.
