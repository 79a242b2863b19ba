DROP INDEX cases_status;
DROP TABLE case_events;
DROP FUNCTION case_events_refuse_change();
DROP TABLE case_close_proposals;
DROP TABLE case_shares;
