DROP TABLE approval_entries;
DROP TABLE approval_loads;
DROP TABLE feed_state;
DROP TABLE register_facts;
DROP TABLE enrichment_jobs;
