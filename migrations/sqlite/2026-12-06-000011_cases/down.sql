DROP INDEX cases_status;
DROP TRIGGER case_events_no_update;
DROP TRIGGER case_events_no_delete;
DROP TABLE case_events;
DROP TABLE case_close_proposals;
DROP TABLE case_shares;
