DROP INDEX outbox_created;
ALTER TABLE outbox DROP COLUMN recipient_name;
ALTER TABLE outbox DROP COLUMN recipient_liaison_id;
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
UPDATE outbox SET status = 'failed' WHERE status = 'dead';
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check CHECK (status IN ('pending', 'sending', 'sent', 'failed'));
