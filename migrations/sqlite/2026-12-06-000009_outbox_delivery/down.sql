CREATE TABLE outbox_old (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    recipient_user_id BIGINT REFERENCES users(id),
    recipient_agency TEXT,
    recipient_address TEXT,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_attempt_at TIMESTAMP,
    last_error TEXT,
    locked_until TIMESTAMP,
    sent_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO outbox_old SELECT id, kind, dedupe_key, recipient_user_id, recipient_agency, recipient_address,
    subject, payload, CASE WHEN status = 'dead' THEN 'failed' ELSE status END, attempts, next_attempt_at,
    last_attempt_at, last_error, locked_until, sent_at, created_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_old RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
