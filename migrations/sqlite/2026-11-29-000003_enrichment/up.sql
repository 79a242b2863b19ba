-- Enrichment: a persistent job per org number (survives restarts, never blocks an import),
-- an append-only history of what the register said, the change-feed position, and the
-- approval registers loaded from files.

CREATE TABLE enrichment_jobs (
    orgnr TEXT PRIMARY KEY CHECK (length(orgnr) = 9),
    state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_attempt_at TIMESTAMP,
    last_success_at TIMESTAMP,
    last_error TEXT,
    locked_until TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX enrichment_jobs_due ON enrichment_jobs(state, next_attempt_at);

CREATE TABLE register_facts (
    id INTEGER PRIMARY KEY,
    orgnr TEXT NOT NULL,
    source TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('active', 'deleted', 'removed', 'unknown')),
    facts TEXT,
    raw_json TEXT,
    fetched_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX register_facts_orgnr ON register_facts(orgnr, id);

CREATE TABLE feed_state (
    feed TEXT PRIMARY KEY,
    last_update_id BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE approval_loads (
    id INTEGER PRIMARY KEY,
    register TEXT NOT NULL CHECK (register IN ('renhold', 'bilpleie', 'bemanning')),
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    format TEXT NOT NULL,
    file_date DATE,
    entries BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    loaded_by TEXT NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);

CREATE TABLE approval_entries (
    id INTEGER PRIMARY KEY,
    load_id BIGINT NOT NULL REFERENCES approval_loads(id),
    orgnr TEXT NOT NULL,
    status TEXT NOT NULL,
    status_date DATE,
    name TEXT
);
CREATE INDEX approval_entries_orgnr ON approval_entries(orgnr, load_id);
