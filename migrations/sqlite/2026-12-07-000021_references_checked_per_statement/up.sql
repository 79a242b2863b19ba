-- Nothing to do on SQLite: PostgreSQL's migration of this number checks eight references per
-- statement instead of per row (its per-row foreign-key triggers were most of an import's
-- work there); SQLite keeps its foreign keys, whose check is one b-tree probe. Kept so that
-- both databases' migrations stay numbered alike.
SELECT 1;
