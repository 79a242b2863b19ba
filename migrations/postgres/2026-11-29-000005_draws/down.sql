DROP TABLE outbox;
DROP TABLE cases;
DROP TABLE draw_picks;
DROP TABLE draw_rounds;
DROP TABLE draw_manifests;
DROP TABLE draws;
DROP FUNCTION draws_refuse_change();
