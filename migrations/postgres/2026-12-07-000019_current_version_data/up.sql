-- A contract's current version keeps its data in the contract's own row (issue 15). Each
-- `contract_versions` row held the register row's JSON, and for the current version that is
-- the very fields the `contracts` row holds: 414 of the 1,458 bytes an imported contract stored.
-- Now `data` and `data_sha256` are NULL while the version is current and the contract row
-- can say it (its `extras` in file order): the row has the fields and the same hash. Before
-- a later batch changes the contract, its final transaction writes the version's JSON and
-- hash into the version's row (`imports::apply_staged_updates`), so a superseded version
-- always has its own. `imports::version_data` reads either and checks the hash. Rows stored
-- before keep theirs.
ALTER TABLE contract_versions ALTER COLUMN data DROP NOT NULL;
ALTER TABLE contract_versions ALTER COLUMN data_sha256 DROP NOT NULL;
