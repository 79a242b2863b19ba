-- Case review by the A-krim partners (issue 13). The `cases` row (migration 000005) holds
-- the current state; everything that happened to a case is appended to `case_events` and
-- never changed (UPDATE and DELETE refused by triggers, as for the draws): status changes,
-- assignments, notes, findings per indicator (the latest per indicator wins), close
-- proposals and confirmations, reopenings with their reason, shares and unshares.
-- `case_shares` is who may see a case now (one row per agency; unsharing deletes the row,
-- the event stays); `case_close_proposals` is the one pending four-eyes proposal of a case,
-- removed when it is confirmed or withdrawn (the events keep it).

CREATE TABLE case_shares (
    case_id BIGINT NOT NULL REFERENCES cases(id),
    agency TEXT NOT NULL CHECK (agency IN ('arbeidstilsynet', 'skatteetaten', 'politiet', 'nav', 'kemneren')),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (case_id, agency)
);
CREATE INDEX case_shares_agency ON case_shares(agency, case_id);

CREATE TABLE case_close_proposals (
    case_id BIGINT PRIMARY KEY REFERENCES cases(id),
    outcome TEXT NOT NULL CHECK (outcome IN ('ingen_funn', 'avvik_rettet', 'henvist_arbeidstilsynet',
        'henvist_skatteetaten', 'henvist_politiet', 'henvist_nav')),
    proposed_by_user_id BIGINT NOT NULL REFERENCES users(id),
    proposed_at TIMESTAMP NOT NULL
);

CREATE TABLE case_events (
    id INTEGER PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    at TIMESTAMP NOT NULL,
    actor_user_id BIGINT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL CHECK (kind IN ('status', 'assign', 'note', 'finding', 'close_proposed',
        'close_confirmed', 'close_withdrawn', 'reopen', 'share', 'unshare', 'document_requested', 'document_received', 'evidence_added')),
    -- status: the status after the event (status, close_confirmed, reopen).
    status TEXT CHECK (status IN ('ny', 'under_vurdering', 'kontrollert', 'lukket')),
    outcome TEXT,
    -- text: a note, or the reason of a reopening.
    text TEXT,
    indicator TEXT,
    result TEXT CHECK (result IN ('bekreftet', 'ikke_bekreftet', 'ikke_kontrollert')),
    agency TEXT,
    assignee_user_id BIGINT REFERENCES users(id)
);
CREATE INDEX case_events_case ON case_events(case_id, id);
CREATE INDEX cases_status ON cases(status, id);

CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
BEGIN SELECT RAISE(ABORT, 'case_events is append-only: the history of a case is never changed'); END;
CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
BEGIN SELECT RAISE(ABORT, 'case_events is append-only: the history of a case is never changed'); END;
