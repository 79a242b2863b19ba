-- Mail delivery. A message is addressed when it is queued (to a liaison's address, frozen
-- with its content, so a retry sends the same mail); the worker claims due messages with a
-- lease (`sending` until `locked_until`), and after the configured number of failed
-- attempts a message becomes `dead`: a dead letter that Kemneren sees and can retry.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt. Messages queued
-- before liaisons existed were addressed to A-krim users, who had no address: they cannot
-- be delivered and become dead letters saying so.

CREATE TABLE outbox_new (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    recipient_user_id BIGINT REFERENCES users(id),
    recipient_agency TEXT,
    recipient_address TEXT,
    recipient_liaison_id BIGINT REFERENCES liaisons(id),
    recipient_name TEXT,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_attempt_at TIMESTAMP,
    last_error TEXT,
    locked_until TIMESTAMP,
    sent_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO outbox_new (id, kind, dedupe_key, recipient_user_id, recipient_agency, recipient_address,
    subject, payload, status, attempts, next_attempt_at, last_attempt_at, last_error, locked_until,
    sent_at, created_at)
SELECT id, kind, dedupe_key, recipient_user_id, recipient_agency, recipient_address, subject, payload,
    CASE WHEN status = 'sent' THEN 'sent'
         WHEN recipient_address IS NULL OR status = 'failed' THEN 'dead'
         ELSE 'pending' END,
    attempts, next_attempt_at, last_attempt_at,
    CASE WHEN recipient_address IS NULL AND status <> 'sent'
         THEN 'no e-mail address: queued for an A-krim user before liaisons existed'
         ELSE last_error END,
    NULL, sent_at, created_at
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_created ON outbox(created_at, id);
