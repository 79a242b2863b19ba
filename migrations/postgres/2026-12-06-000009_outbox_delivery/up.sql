-- Mail delivery. A message is addressed when it is queued (to a liaison's address, frozen
-- with its content, so a retry sends the same mail); the worker claims due messages with
-- FOR UPDATE SKIP LOCKED and a lease (`sending` until `locked_until`), and after the
-- configured number of failed attempts a message becomes `dead`: a dead letter that
-- Kemneren sees and can retry. Messages queued before liaisons existed were addressed to
-- A-krim users, who had no address: they cannot be delivered and become dead letters.

ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
UPDATE outbox SET status = 'dead',
    last_error = COALESCE(last_error, 'no e-mail address: queued for an A-krim user before liaisons existed')
    WHERE status <> 'sent' AND (recipient_address IS NULL OR status = 'failed');
UPDATE outbox SET status = 'pending', locked_until = NULL WHERE status = 'sending';
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check CHECK (status IN ('pending', 'sending', 'sent', 'dead'));
ALTER TABLE outbox ADD COLUMN recipient_liaison_id BIGINT REFERENCES liaisons(id);
ALTER TABLE outbox ADD COLUMN recipient_name TEXT;
CREATE INDEX outbox_created ON outbox(created_at, id);
