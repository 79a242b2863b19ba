-- References checked once per statement instead of once per row (issue 15, item 4).
--
-- PostgreSQL checks a foreign key with a trigger per inserted row, which runs a query
-- (`SELECT 1 FROM parent WHERE key = $1 FOR KEY SHARE`) for every row: an import stores
-- four rows per contract with eight references between them (supplier, batch twice, owner;
-- a version's contract and batch; an assessment's contract and rule set), and these checks
-- were more than half of the database's work on a 100,000-row import. The references below
-- are checked instead by statement-level triggers that see all the rows a statement (a
-- COPY of a chunk) wrote at once: one query per reference looks up each parent they name
-- once, locks it as a foreign key does (`FOR KEY SHARE`, so none can be deleted before the
-- writer commits) and finds any that is missing. The parents' triggers refuse to delete a row (or
-- change its key) that is still referred to. Both raise `foreign_key_violation` (23503)
-- naming the foreign key they stand for, as the foreign keys did. SQLite keeps its foreign
-- keys: its check is a b-tree probe.
--
-- The references, as (child column, parent table, parent column), are the triggers'
-- arguments; `tests/references.rs` tries each one on both databases.

-- The child side: TG_ARGV holds triples (child column, parent table, parent column).
CREATE FUNCTION spotcheck_check_parents() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    i integer := 0;
    missing text;
BEGIN
    WHILE i + 2 < TG_NARGS LOOP
        -- Each parent the new rows name, once, looked up by its key and locked as a
        -- foreign key locks it (so that none goes before this transaction ends); the first
        -- one missing, if any. Written as a lateral probe per key: a join the planner could
        -- turn into a scan of the whole parent table for every chunk.
        EXECUTE format(
            'SELECT n.k::text FROM (SELECT DISTINCT n.%1$I AS k FROM new_rows n WHERE n.%1$I IS NOT NULL) n'
            ' LEFT JOIN LATERAL (SELECT true AS found FROM %2$I p WHERE p.%3$I = n.k FOR KEY SHARE OF p) l ON true'
            ' WHERE l.found IS NULL LIMIT 1',
            TG_ARGV[i], TG_ARGV[i + 1], TG_ARGV[i + 2]) INTO missing;
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION 'insert or update on table "%" violates foreign key %: % = % is not present in table "%"',
                TG_TABLE_NAME, TG_TABLE_NAME || '_' || TG_ARGV[i] || '_fkey', TG_ARGV[i], missing, TG_ARGV[i + 1]
                USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME,
                    CONSTRAINT = TG_TABLE_NAME || '_' || TG_ARGV[i] || '_fkey';
        END IF;
        i := i + 3;
    END LOOP;
    RETURN NULL;
END
$$;

-- The parent side: TG_ARGV holds triples (parent column, child table, child column). A key
-- that the statement removed (deleted, or changed) and that a child still names is refused.
CREATE FUNCTION spotcheck_check_children() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    i integer := 0;
    kept text;
BEGIN
    WHILE i + 2 < TG_NARGS LOOP
        EXECUTE format(
            'SELECT o.%1$I::text FROM old_rows o'
            ' WHERE NOT EXISTS (SELECT 1 FROM %4$I p WHERE p.%1$I = o.%1$I)'
            ' AND EXISTS (SELECT 1 FROM %2$I c WHERE c.%3$I = o.%1$I) LIMIT 1',
            TG_ARGV[i], TG_ARGV[i + 1], TG_ARGV[i + 2], TG_TABLE_NAME) INTO kept;
        IF kept IS NOT NULL THEN
            RAISE EXCEPTION 'update or delete on table "%" violates foreign key % on table "%": % = % is still referenced',
                TG_TABLE_NAME, TG_ARGV[i + 1] || '_' || TG_ARGV[i + 2] || '_fkey', TG_ARGV[i + 1], TG_ARGV[i], kept
                USING ERRCODE = 'foreign_key_violation', TABLE = TG_ARGV[i + 1],
                    CONSTRAINT = TG_ARGV[i + 1] || '_' || TG_ARGV[i + 2] || '_fkey';
        END IF;
        i := i + 3;
    END LOOP;
    RETURN NULL;
END
$$;

ALTER TABLE contracts
    DROP CONSTRAINT contracts_supplier_id_fkey,
    DROP CONSTRAINT contracts_first_batch_id_fkey,
    DROP CONSTRAINT contracts_last_batch_id_fkey,
    DROP CONSTRAINT contracts_owner_user_id_fkey;
ALTER TABLE contract_versions
    DROP CONSTRAINT contract_versions_contract_id_fkey,
    DROP CONSTRAINT contract_versions_batch_id_fkey;
ALTER TABLE assessments
    DROP CONSTRAINT assessments_contract_id_fkey,
    DROP CONSTRAINT assessments_rule_set_version_fkey;

-- Each table's references are listed once; the loop makes its two triggers from the list
-- (a trigger with transition tables fires on one event, so inserts and updates apart on a
-- child, deletes and key changes apart on a parent). Named `<table>_parents_on_<event>` and
-- `<table>_children_on_<event>` (the down migration drops them by name).
DO $$
DECLARE
    t record;
    event text;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('contracts', $r$'supplier_id', 'suppliers', 'id', 'first_batch_id', 'import_batches', 'id',
            'last_batch_id', 'import_batches', 'id', 'owner_user_id', 'users', 'id'$r$),
        ('contract_versions', $r$'contract_id', 'contracts', 'id', 'batch_id', 'import_batches', 'id'$r$),
        ('assessments', $r$'contract_id', 'contracts', 'id', 'rule_set_version', 'rule_sets', 'version'$r$)
    ) AS child (name, refs)
    LOOP
        FOREACH event IN ARRAY ARRAY['insert', 'update'] LOOP
            EXECUTE format(
                'CREATE TRIGGER %I AFTER %s ON %I REFERENCING NEW TABLE AS new_rows'
                ' FOR EACH STATEMENT EXECUTE FUNCTION spotcheck_check_parents(%s)',
                t.name || '_parents_on_' || event, event, t.name, t.refs);
        END LOOP;
    END LOOP;
    FOR t IN SELECT * FROM (VALUES
        ('suppliers', $r$'id', 'contracts', 'supplier_id'$r$),
        ('import_batches', $r$'id', 'contracts', 'first_batch_id', 'id', 'contracts', 'last_batch_id',
            'id', 'contract_versions', 'batch_id'$r$),
        ('users', $r$'id', 'contracts', 'owner_user_id'$r$),
        ('contracts', $r$'id', 'contract_versions', 'contract_id', 'id', 'assessments', 'contract_id'$r$),
        ('rule_sets', $r$'version', 'assessments', 'rule_set_version'$r$)
    ) AS parent (name, refs)
    LOOP
        FOREACH event IN ARRAY ARRAY['delete', 'update'] LOOP
            EXECUTE format(
                'CREATE TRIGGER %I AFTER %s ON %I REFERENCING OLD TABLE AS old_rows'
                ' FOR EACH STATEMENT EXECUTE FUNCTION spotcheck_check_children(%s)',
                t.name || '_children_on_' || event, event, t.name, t.refs);
        END LOOP;
    END LOOP;
END
$$;
